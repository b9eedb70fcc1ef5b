// A deploy or rollback that did its work but could not release gen's lock or append to the release log says so,
// naming the host, the path and the cause (also in --json), and exits 1. Real failures, in the sandbox (the local
// transport) run by the unprivileged gen-test user: a release task makes the lock's folder read-only between
// taking the lock and releasing it, and a folder stands where the release log should be.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { genBin } from "../support/run-bin.js";
import { genTestUser, giveTo, runAs, type Run } from "../support/sandbox-loop.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-cleanup-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

test("a deploy or rollback that cannot release its lock or write the release log warns, naming host, path and cause, and exits 1", () => {
  const user = genTestUser(join(temp, "home"));
  chownSync(temp, user.uid, user.gid);
  const dir = join(temp, "project");
  const root = join(dir, ".gen-local", "t");
  const locks = join(root, "var/lib/gen/tsosi/locks");
  mkdirSync(join(dir, "environments"), { recursive: true });
  // The second task runs on the "server" after the lock was taken: the lock can no longer be removed.
  writeFileSync(
    join(dir, "environments", "t.yaml"),
    [
      "extends: preset:example",
      "server: { transport: local, localRoot: .gen-local/t }",
      "release:",
      "  tasks:",
      "    - [python3, -m, compileall, -q, .]",
      `    - [chmod, "0555", ${JSON.stringify(locks)}]`,
      "",
    ].join("\n"),
  );
  cpSync(join(packageRoot, "sample-app"), join(dir, "app"), { recursive: true });
  giveTo(user, dir);
  const g = (...args: string[]) => runAs(user, [process.execPath, genBin, ...args], dir);
  const ok = (run: Run, what: string) => assert.equal(run.code, 0, `${what}: exit ${run.code}\n${run.out}\n${run.err}`);
  for (const args of [
    ["init", "-q", "-b", "main"],
    ["add", "-A"],
    ["commit", "-q", "-m", "sample app"],
  ])
    ok(runAs(user, ["git", "-C", "app", ...args], dir), `git ${args[0]}`);
  ok(g("apply", "t", "--yes"), "apply --yes");
  assert.ok(existsSync(locks), `apply made ${locks}`);
  // `>>` into a folder fails for everyone, root included.
  mkdirSync(join(root, "var/www/releases/releases.log"), { recursive: true });
  giveTo(user, join(root, "var/www"));

  const deploy = g("deploy", "t", "--repo", "app", "--yes");
  assert.equal(deploy.code, 1, `a deploy that left its lock and lost its log line exits 1\n${deploy.out}\n${deploy.err}`);
  const release = /^local: release (\d{8}T\d{6}Z) is live/m.exec(deploy.out)?.[1];
  assert.ok(release, `the release itself went live:\n${deploy.out}\n${deploy.err}`);
  assert.equal(readlinkSync(join(root, "var/www/current")), `releases/${release}`);
  assert.match(
    deploy.err,
    /^warning: local: could not append to the log \/var\/www\/releases\/releases\.log: appending to the release log failed on .+ \(exit \d+\)$/m,
  );
  assert.match(deploy.err, /^ {2}.*releases\.log'?: Is a directory$/m);
  assert.match(deploy.err, /^warning: local: could not release gen's lock \/var\/lib\/gen\/tsosi\/locks\/lock: releasing the lock failed on .+ \(exit 1\)$/m);
  assert.match(deploy.err, /^ {2}rm: cannot remove '.*locks\/lock': Permission denied$/m);
  assert.match(deploy.err, /^ {2}the next apply, deploy or rollback stops at this lock: .*--force-unlock/m);
  assert.ok(existsSync(join(locks, "lock")), "the lock is still there, as the warning says");

  // The same in --json: a field of the host, and exit 1.
  chmodSync(locks, 0o755);
  waitForNextSecond();
  const json = g("deploy", "t", "--repo", "app", "--yes", "--force-unlock", "--json");
  assert.equal(json.code, 1, json.err);
  const host = (JSON.parse(json.out) as { hosts: { outcome: string; warnings?: { what: string; path: string; message: string; details: string[] }[] }[] })
    .hosts[0]!;
  assert.equal(host.outcome, "deployed");
  assert.deepEqual(
    host.warnings?.map((w) => [w.what, w.path]),
    [
      ["log", "/var/www/releases/releases.log"],
      ["unlock", "/var/lib/gen/tsosi/locks/lock"],
    ],
  );
  assert.match(host.warnings![1]!.details.join("\n"), /Permission denied/);

  // A rollback that switched but could not log it.
  chmodSync(locks, 0o755);
  const rollback = g("rollback", "t", "--yes", "--force-unlock");
  assert.equal(rollback.code, 1, `${rollback.out}\n${rollback.err}`);
  assert.match(rollback.out, new RegExp(`-> ${release} is live`));
  assert.equal(readlinkSync(join(root, "var/www/current")), `releases/${release}`);
  assert.match(rollback.err, /^warning: local: could not append to the log \/var\/www\/releases\/releases\.log: /m);
  assert.equal(existsSync(join(locks, "lock")), false, "the rollback released its lock");
});

/** Release folders are named by the UTC second: let the second of the previous release pass. */
function waitForNextSecond(): void {
  const before = new Date().toISOString().slice(0, 19);
  while (new Date().toISOString().slice(0, 19) === before) spawnSync("sleep", ["0.2"]);
}
