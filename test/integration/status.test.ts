// gen status end to end: the shipped bin against real OpenSSH servers on 127.0.0.1 over one fake root. Per host the
// live release (where current leads, with its deployment.json), gen's lock and its holder, and whether the managed
// files drifted, over one SSH session per host. What the deploy user can write there (current, the release folders,
// deployment.json, the lock) is hostile: it is checked, bounded, escaped, and never read through a link.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chown, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertJsonOutput } from "../support/json-output.js";
import { startGenServer, trustAllHosts, type GenServer, type GenServerOptions } from "./support/gen-server.js";

const LOCK = "/var/lib/gen/tsosi/locks/lock";
const LOGROTATE = "/etc/logrotate.d/tsosi";
const RELEASE = "20260101T000000Z";
const DEPLOYMENT = `/var/www/releases/${RELEASE}/public/deployment.json`;
const CURRENT = "/var/www/current";
/** Far above a status on a loaded machine (a few seconds): a read that blocks fails the test instead of stalling it. */
const LIMIT_MS = 60_000;
const ROOT_ONLY = "root-only-5d0c2e";

interface StatusJson {
  drifted: boolean;
  hosts: {
    host: string;
    error?: string;
    release?: { state: string; id?: string; reason?: string; deployment?: Record<string, string> };
    lock?: string | null;
    drifted?: boolean;
    files?: { path: string; action: string; editedOnServer: boolean }[];
  }[];
}

async function withServer(options: GenServerOptions, test: (server: GenServer) => Promise<void>): Promise<void> {
  const server = await startGenServer(options);
  try {
    const several = (options.hosts ?? 1) > 1;
    // The hosts share one root (and so one lock): applied through the first alone.
    if (several) await trustAllHosts(server);
    if (several) await server.writeEnv({ server: { hosts: [{ name: "a", host: server.sshd.host, port: server.sshd.port }] } });
    const applied = await server.gen(["apply", "t", "--yes"], { timeoutMs: LIMIT_MS });
    assert.equal(applied.code, 0, applied.all);
    if (several) await server.writeEnv();
    await test(server);
  } finally {
    await server.stop();
  }
}

const status = (server: GenServer, ...extra: string[]) => server.gen(["status", "t", ...extra], { timeoutMs: LIMIT_MS });

/** The exec requests (sessions) each sshd of the fixture has started so far, from its log. */
async function sessions(server: GenServer): Promise<number[]> {
  return Promise.all(server.sshds.map(async (s) => ((await readFile(s.logPath, "utf8")).match(/Starting session: command/g) ?? []).length));
}

async function writeDeployment(server: GenServer, content: string): Promise<void> {
  await mkdir(join(server.file(DEPLOYMENT), ".."), { recursive: true });
  await writeFile(server.file(DEPLOYMENT), content);
}

const genTest = () => Number(execFileSync("id", ["-u", "gen-test"], { encoding: "utf8" }).trim());

describe("gen status over real OpenSSH", { concurrency: 2, timeout: 10 * 60_000 }, () => {
  it("per host: the live release from its deployment.json, the lock and its holder, and the files in sync or drifted, one session per host", () =>
    withServer({ hosts: 2 }, async (server) => {
      const deployment = { branch: "main", hash: "0123456789abcdef0123456789abcdef01234567", title: "Add badges", deployedAt: "2026-01-01T00:00:00.000Z" };
      await writeDeployment(server, `${JSON.stringify(deployment, null, 2)}\n`);
      const before = await sessions(server);
      const synced = await status(server);
      assert.equal(synced.code, 0, synced.all);
      assert.deepEqual(
        (await sessions(server)).map((n, i) => n - before[i]!),
        [1, 1],
        "one session per host",
      );
      for (const host of ["a", "b"]) {
        assert.match(synced.out, new RegExp(`^${host}: release ${RELEASE} is live: main 0123456789ab "Add badges", deployed 2026-01-01T00:00:00.000Z$`, "m"));
        assert.match(synced.out, new RegExp(`^${host}: not locked$`, "m"));
        assert.match(synced.out, new RegExp(`^${host}: files in sync \\(10 files, \\d+ folders\\)$`, "m"));
      }
      assert.match(synced.out, /^t: every host in sync$/m);

      // A lock held is said, with its holder; it is not drift.
      await mkdir(server.file(LOCK));
      await writeFile(
        join(server.file(LOCK), "holder.json"),
        `${JSON.stringify({ who: "ann@laptop", command: "deploy", since: "2026-01-02T03:04:05.000Z", pid: 4242 })}\n`,
      );
      const locked = await status(server);
      assert.equal(locked.code, 0, locked.all);
      assert.match(locked.out, /^a: locked by ann@laptop \(gen deploy, pid 4242\) since 2026-01-02T03:04:05\.000Z$/m);

      // A file edited on the server: drift, exit 2 as gen diff, the file named.
      await writeFile(server.file(LOGROTATE), "# edited by hand\n");
      const drifted = await status(server);
      assert.equal(drifted.code, 2, drifted.all);
      assert.match(drifted.out, /^a: files drifted: 1 to change \(gen diff t\)$/m);
      assert.match(drifted.out, new RegExp(`^  change ${LOGROTATE} \\(content\\), edited on the server since the last apply$`, "m"));
      assert.match(drifted.out, /^t: drifted on a, b: gen diff t shows the differences, gen apply t syncs them$/m);

      const json = await status(server, "--json");
      assert.equal(json.code, 2, json.all);
      const parsed = assertJsonOutput<StatusJson>("status", json.out);
      assert.equal(parsed.drifted, true);
      assert.deepEqual(parsed.hosts[0]!.release, { state: "release", id: RELEASE, deployment });
      assert.equal(parsed.hosts[0]!.lock, "ann@laptop (gen deploy, pid 4242) since 2026-01-02T03:04:05.000Z");
      assert.deepEqual(
        parsed.hosts[1]!.files!.map((f) => [f.path, f.action, f.editedOnServer]),
        [[LOGROTATE, "change", true]],
      );
    }));

  it("current and the release folders are the deploy user's: a link elsewhere, no link, a planted deployment.json: checked, escaped, never followed", () =>
    withServer({}, async (server) => {
      const release = (await assertJsonOutput<StatusJson>("status", (await status(server, "--json")).out)).hosts[0]!.release;
      assert.deepEqual(release, { state: "release", id: RELEASE }, "a release without deployment.json");

      // Escaped: a bidirectional override and an escape sequence in its title; a hash that is none is left out.
      await writeDeployment(server, JSON.stringify({ branch: "main", title: "Fix \u202e\u001b[31mred", hash: "not a hash" }));
      const escaped = await status(server);
      assert.equal(escaped.code, 0, escaped.all);
      assert.match(escaped.out, /^127\.0\.0\.1: release 20260101T000000Z is live: main "Fix \\u202e\\x1b\[31mred"$/m);
      assert.doesNotMatch(escaped.all, /\u202e|\u001b/);

      // deployment.json a FIFO (the read would never end), or a link to a file only root may read.
      const secret = join(server.tempDir, "root-only", "deployment.json");
      await mkdir(join(secret, ".."), { mode: 0o700 });
      await writeFile(secret, JSON.stringify({ branch: ROOT_ONLY, title: ROOT_ONLY }), { mode: 0o600 });
      for (const plant of [() => void execFileSync("mkfifo", [server.file(DEPLOYMENT)]), () => symlink(secret, server.file(DEPLOYMENT))]) {
        await rm(server.file(DEPLOYMENT), { force: true });
        await plant();
        const run = await status(server);
        assert.equal(run.code, 0, run.all);
        assert.match(run.out, /^127\.0\.0\.1: release 20260101T000000Z is live \(no deployment\.json gen can read\)$/m);
        assert.doesNotMatch(run.all, new RegExp(ROOT_ONLY));
      }
      // The release's public/ swapped for a link to root's folder that holds a deployment.json.
      await rm(join(server.file(DEPLOYMENT), ".."), { recursive: true });
      await symlink(join(secret, ".."), join(server.file(DEPLOYMENT), ".."));
      const linkedFolder = await status(server);
      assert.match(linkedFolder.out, /^127\.0\.0\.1: release 20260101T000000Z is live \(no deployment\.json gen can read\)$/m);
      assert.doesNotMatch(linkedFolder.all, new RegExp(ROOT_ONLY));

      // current leading out of the releases folder, to a name that is no release, or not a link at all.
      for (const [target, says] of [
        ["/etc", "/var/www/current leads to /etc, not a release folder of /var/www/releases"],
        [`/tmp/${RELEASE}`, `/var/www/current leads to /tmp/${RELEASE}, not a release folder of /var/www/releases`],
        ["releases/x\u202ey", "/var/www/current leads to releases/x\\u202ey, not a release folder of /var/www/releases"],
      ]) {
        await rm(server.file(CURRENT));
        await symlink(target!, server.file(CURRENT));
        const run = await status(server);
        assert.equal(run.code, 0, run.all);
        assert.ok(run.out.includes(`127.0.0.1: live release unknown: ${says}`), `${target}:\n${run.all}`);
        assert.doesNotMatch(run.all, /\u202e/);
      }
      await rm(server.file(CURRENT));
      await mkdir(server.file(CURRENT));
      await chown(server.file(CURRENT), genTest(), genTest());
      const folder = await status(server, "--json");
      assert.deepEqual(assertJsonOutput<StatusJson>("status", folder.out).hosts[0]!.release, {
        state: "unknown",
        reason: "/var/www/current is not a link",
      });
      await rm(server.file(CURRENT), { recursive: true });
      const none = await status(server);
      assert.match(none.out, /^127\.0\.0\.1: no release is live \(no current link\)$/m);
    }));

  it("a host that cannot be reached: exit 1, named with why, the others still reported", () =>
    withServer({ hosts: 2 }, async (server) => {
      await server.sshds[1]!.stop();
      const run = await status(server);
      assert.equal(run.code, 1, run.all);
      assert.match(run.out, /^a: files in sync/m);
      assert.match(run.err, /^b: could not inspect .*127\.0\.0\.1:\d+: /m);
      assert.match(run.err, /^t: could not inspect b$/m);
      const json = await status(server, "--json");
      assert.equal(json.code, 1, json.all);
      const hosts = assertJsonOutput<StatusJson>("status", json.out).hosts;
      assert.equal(hosts[0]!.drifted, false);
      assert.match(hosts[1]!.error!, /refused/i);
    }));
});
