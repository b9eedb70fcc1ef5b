import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sshOptionsFor } from "../../test/support/ssh-options.js";
import { startSshd, type SshdHandle } from "../../test/support/sshd.js";
import { connectSsh } from "./ssh.js";
import type { Transport } from "./transport.js";

describe("ssh host key checking against a real sshd", () => {
  let sshd: SshdHandle;
  before(async () => {
    sshd = await startSshd();
  });
  after(() => sshd?.stop());

  const knownHosts = async (name: string, text: string) => {
    const path = join(sshd.tempDir, name);
    await writeFile(path, text);
    return path;
  };
  const connectWith = (knownHostsPath: string, extra = {}) => connectSsh(sshOptionsFor(sshd, { knownHostsPaths: [knownHostsPath], ...extra }));
  const closes = async (transport: Promise<Transport>) => (await transport).close();

  it("refuses an unknown host key, showing its fingerprint and the flag that accepts it", async () => {
    const path = await knownHosts("kh-empty", "");
    await assert.rejects(connectWith(path), (error: Error & { details: string[] }) => {
      assert.match(error.message, new RegExp(`^host key of 127\\.0\\.0\\.1:${sshd.port} is not known`));
      assert.ok(error.message.includes(sshd.hostFingerprint), error.message);
      assert.match(error.details.join("\n"), /--accept-new-host-key/);
      return true;
    });
  });

  it("records a new host key with acceptNewHostKey, and the next connection needs no flag", async () => {
    const path = await knownHosts("kh-new", "");
    await closes(connectWith(path, { acceptNewHostKey: true }));
    const recorded = await readFile(path, "utf8");
    assert.match(recorded, /^\|1\|\S+ ssh-ed25519 \S+\n$/);
    assert.match(execFileSync("ssh-keygen", ["-F", `[127.0.0.1]:${sshd.port}`, "-f", path], { encoding: "utf8" }), /ssh-ed25519/);
    await closes(connectWith(path));
  });

  it("refuses a changed host key, naming the known_hosts file and line, even with acceptNewHostKey", async () => {
    const other = join(sshd.tempDir, "other_host_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const otherKey = (await readFile(`${other}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
    const path = await knownHosts("kh-changed", `# ours\n[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    await assert.rejects(connectWith(path, { acceptNewHostKey: true }), (error: Error) => {
      assert.match(error.message, /^HOST KEY CHANGED/);
      assert.ok(error.message.includes(`${path}:2`), error.message);
      assert.ok(error.message.includes(sshd.hostFingerprint), error.message);
      return true;
    });
    assert.equal(await readFile(path, "utf8"), `# ours\n[127.0.0.1]:${sshd.port} ${otherKey}\n`);
  });

  it("matches a hashed known_hosts entry", async () => {
    const path = join(sshd.tempDir, "kh-hashed");
    await copyFile(sshd.knownHostsPath, path);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", path], { stdio: "ignore" });
    assert.match(await readFile(path, "utf8"), /^\|1\|/);
    await closes(connectWith(path));
  });

  it("trusts a pinned fingerprint instead of known_hosts, and refuses a wrong one", async () => {
    const empty = await knownHosts("kh-pin", "");
    await closes(connectWith(empty, { hostKeyFingerprint: sshd.hostFingerprint }));
    const wrong = `SHA256:${"A".repeat(43)}`;
    await assert.rejects(connectWith(sshd.knownHostsPath, { hostKeyFingerprint: wrong }), /does not match the pinned fingerprint/);
  });
});
