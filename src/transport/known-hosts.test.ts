import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadKnownHosts, verifyHostKey, type HostKeyPolicy } from "./host-key.js";
import { checkHostKey, entryMatchesName, fingerprintOf, knownHostsName, parseKnownHosts } from "./known-hosts.js";

interface TestKey {
  line: string;
  blob: Buffer;
  sshKeygenFingerprint: string;
}

describe("known_hosts", () => {
  let dir: string;
  const keys: Record<string, TestKey> = {};
  const keygen = (...args: string[]) => execFileSync("ssh-keygen", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gen-known-hosts-"));
    for (const [name, type] of [
      ["ed", "ed25519"],
      ["ed2", "ed25519"],
      ["ecdsa", "ecdsa"],
      ["rsa", "rsa"],
    ] as const) {
      const path = join(dir, name);
      keygen("-q", "-t", type, "-N", "", "-f", path);
      const line = (await readFile(`${path}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
      keys[name] = { line, blob: Buffer.from(line.split(" ")[1]!, "base64"), sshKeygenFingerprint: keygen("-l", "-f", `${path}.pub`).split(" ")[1]! };
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const key = (name: string) => keys[name]!;
  const policy = (file: string, extra: Partial<HostKeyPolicy> = {}): HostKeyPolicy => ({
    host: "server.example.org",
    port: 2222,
    knownHostsPaths: [file],
    acceptNew: false,
    ...extra,
  });

  it("prints fingerprints exactly as ssh-keygen -l does", () => {
    for (const name of ["ed", "ecdsa", "rsa"]) assert.equal(fingerprintOf(key(name).blob), key(name).sshKeygenFingerprint);
  });

  it("names a host as OpenSSH looks it up: bare on port 22, [host]:port otherwise", () => {
    assert.equal(knownHostsName("Server.Example.org", 22), "server.example.org");
    assert.equal(knownHostsName("127.0.0.1", 2222), "[127.0.0.1]:2222");
  });

  it("matches plain, bracketed, listed, wildcard and negated host patterns", () => {
    const [entry] = parseKnownHosts(`a.example.org,[b.example.org]:2222,*.web.example.org,!x.web.example.org ${key("ed").line}`, "kh");
    assert.ok(entry);
    assert.equal(entryMatchesName(entry, "a.example.org"), true);
    assert.equal(entryMatchesName(entry, "[a.example.org]:2222"), false);
    assert.equal(entryMatchesName(entry, "[b.example.org]:2222"), true);
    assert.equal(entryMatchesName(entry, "b.example.org"), false);
    assert.equal(entryMatchesName(entry, "w1.web.example.org"), true);
    assert.equal(entryMatchesName(entry, "x.web.example.org"), false);
  });

  it("matches an entry hashed by ssh-keygen -H, and only for its own name", async () => {
    const file = join(dir, "hashed");
    await writeFile(file, `# comment\n\n[server.example.org]:2222 ${key("ed").line}\n`);
    keygen("-q", "-H", "-f", file);
    const text = await readFile(file, "utf8");
    assert.match(text, /^\|1\|/m);
    const entries = parseKnownHosts(text, file);
    assert.equal(checkHostKey(entries, "[server.example.org]:2222", key("ed").blob).kind, "known");
    assert.equal(checkHostKey(entries, "[server.example.org]:22", key("ed").blob).kind, "unknown");
  });

  it("tells known, changed (same type, other key), unknown and revoked apart", () => {
    const text = [`other.example.org ${key("rsa").line}`, `[server.example.org]:2222 ${key("ed").line}`, `@revoked * ${key("ecdsa").line}`].join("\n");
    const entries = parseKnownHosts(text, "kh");
    const name = "[server.example.org]:2222";
    assert.equal(checkHostKey(entries, name, key("ed").blob).kind, "known");
    assert.deepEqual(pick(checkHostKey(entries, name, key("ed2").blob)), { kind: "changed", line: 2 });
    assert.deepEqual(checkHostKey(entries, name, key("rsa").blob), { kind: "unknown", otherTypes: ["ssh-ed25519"] });
    assert.deepEqual(pick(checkHostKey(entries, name, key("ecdsa").blob)), { kind: "revoked", line: 3 });
  });

  it("refuses an unknown host with its fingerprint and the flag that accepts it", async () => {
    const file = join(dir, "empty");
    const error = await verifyHostKey(policy(file), await loadKnownHosts([file]), key("ed").blob);
    assert.ok(error);
    assert.match(error.message, /not known/);
    assert.ok(error.message.includes(key("ed").sshKeygenFingerprint), error.message);
    assert.match(error.details.join("\n"), /--accept-new-host-key/);
  });

  it("records a new key as a hashed line that ssh-keygen -F finds, and knows it next time", async () => {
    const file = join(dir, "accept-new");
    await writeFile(file, `unrelated.example.org ${key("rsa").line}`);
    assert.equal(await verifyHostKey(policy(file, { acceptNew: true }), await loadKnownHosts([file]), key("ed").blob), undefined);
    const lines = (await readFile(file, "utf8")).split("\n");
    assert.match(lines[1]!, /^\|1\|[^ ]+ ssh-ed25519 /);
    assert.match(keygen("-F", "[server.example.org]:2222", "-f", file), /ssh-ed25519/);
    assert.equal(await verifyHostKey(policy(file), await loadKnownHosts([file]), key("ed").blob), undefined);
  });

  it("refuses a changed key loudly, naming file and line, even with acceptNew", async () => {
    const file = join(dir, "changed");
    await writeFile(file, `# servers\n[server.example.org]:2222 ${key("ed").line}\n`);
    const error = await verifyHostKey(policy(file, { acceptNew: true }), await loadKnownHosts([file]), key("ed2").blob);
    assert.ok(error);
    assert.match(error.message, /^HOST KEY CHANGED for server\.example\.org:2222/);
    assert.ok(error.message.includes(`${file}:2`), error.message);
    assert.ok(error.message.includes(key("ed2").sshKeygenFingerprint));
    assert.equal((await readFile(file, "utf8")).split("\n").length, 3, "known_hosts left as it was");
  });

  it("uses a pinned fingerprint instead of known_hosts", async () => {
    const file = join(dir, "missing-file");
    const pinned = policy(file, { pinnedFingerprint: key("ed").sshKeygenFingerprint });
    assert.equal(await verifyHostKey(pinned, [], key("ed").blob), undefined);
    const error = await verifyHostKey(pinned, [], key("ed2").blob);
    assert.match(error?.message ?? "", /does not match the pinned fingerprint/);
  });
});

function pick(verdict: ReturnType<typeof checkHostKey>) {
  return "entry" in verdict ? { kind: verdict.kind, line: verdict.entry.line } : verdict;
}
