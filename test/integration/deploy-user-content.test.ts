// What root reads of what the deploy user can write, over the real OpenSSH server with the real sudo: the lock's
// holder (locks/ is writable by the deploy group), a managed file in the deploy user's home, a server file of many
// megabytes. Each run of gen has a time limit: a read that blocks is a failure here, not a stalled suite.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, chown, mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertJsonOutput } from "../support/json-output.js";
import { startGenServer, type GenServer } from "./support/gen-server.js";

const LOCK = "/var/lib/gen/tsosi/locks/lock";
const CONFIG = "/home/gen-test/config";
const LOGROTATE = "/etc/logrotate.d/tsosi";
/** Far above a diff or an apply on a loaded machine (a few seconds). */
const LIMIT_MS = 60_000;
/** What only root may read; it must never reach gen's output. */
const ROOT_ONLY = "root-only-3f9a1c";

async function withServer(test: (server: GenServer) => Promise<void>): Promise<void> {
  const server = await startGenServer();
  try {
    const first = await server.gen(["apply", "t", "--yes"], { timeoutMs: LIMIT_MS });
    assert.equal(first.code, 0, first.all);
    await test(server);
  } finally {
    await server.stop();
  }
}

const genTest = () => Number(execFileSync("id", ["-u", "gen-test"], { encoding: "utf8" }).trim());

/** A file only root can read, outside the server's folders gen manages, holding ROOT_ONLY. */
async function rootOnlyFile(server: GenServer, name: string, content: string): Promise<string> {
  const dir = join(server.tempDir, "root-only");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

describe("root reading what the deploy user planted", { concurrency: 2, timeout: 10 * 60_000 }, () => {
  it("the lock's holder as a FIFO, a link to /dev/zero or to a root-only file, or a lock folder that is a link: diff and apply finish and show none of it", () =>
    withServer(async (server) => {
      const secret = await rootOnlyFile(server, "holder.json", `${JSON.stringify({ who: ROOT_ONLY, command: "apply", since: ROOT_ONLY, pid: 1 })}\n`);
      const plants: [string, (lock: string) => Promise<void>][] = [
        ["a FIFO", async (lock) => void execFileSync("mkfifo", [join(lock, "holder.json")])],
        ["a link to /dev/zero", (lock) => symlink("/dev/zero", join(lock, "holder.json"))],
        ["a link to a root-only file", (lock) => symlink(secret, join(lock, "holder.json"))],
        ["gigabytes", async (lock) => void execFileSync("truncate", ["-s", "2G", join(lock, "holder.json")])],
      ];
      for (const [what, plant] of plants) {
        const lock = server.file(LOCK);
        await mkdir(lock);
        await plant(lock);
        await chown(lock, genTest(), genTest());
        const diff = await server.gen(["diff", "t", "--json"], { timeoutMs: LIMIT_MS });
        assert.equal(diff.code, 0, `${what}: ${diff.all}`);
        const plan = assertJsonOutput<{ hosts: { lock?: string }[] }>("diff", diff.out);
        assert.equal(plan.hosts[0]!.lock, "an unknown holder (the lock has no readable holder.json)", what);
        const apply = await server.gen(["apply", "t", "--yes"], { timeoutMs: LIMIT_MS });
        assert.equal(apply.code, 1, `${what}: ${apply.all}`);
        assert.match(apply.err, /is locked by an unknown holder/, what);
        const forced = await server.gen(["apply", "t", "--yes", "--force-unlock"], { timeoutMs: LIMIT_MS });
        assert.equal(forced.code, 0, `${what}: ${forced.all}`);
        for (const run of [diff, apply, forced]) assert.doesNotMatch(run.all, new RegExp(ROOT_ONLY), what);
      }
      // The lock folder itself a link to a folder of root's that holds a holder.json.
      await symlink(join(server.tempDir, "root-only"), server.file(LOCK));
      const diff = await server.gen(["diff", "t", "--json"], { timeoutMs: LIMIT_MS });
      assert.equal(diff.code, 0, diff.all);
      assert.equal(
        assertJsonOutput<{ hosts: { lock?: string }[] }>("diff", diff.out).hosts[0]!.lock,
        "an unknown holder (the lock has no readable holder.json)",
      );
      const forced = await server.gen(["apply", "t", "--yes", "--force-unlock"], { timeoutMs: LIMIT_MS });
      assert.equal(forced.code, 0, forced.all);
      for (const run of [diff, forced]) assert.doesNotMatch(run.all, new RegExp(ROOT_ONLY));
    }));

  it("a managed file in the deploy user's home: a FIFO in its place, or its folder swapped for a link to root's files: diff finishes and shows none of root's", () =>
    withServer(async (server) => {
      // The deploy user owns its home, so it can rename the root-owned config folder and put its own there.
      const config = server.file(CONFIG);
      await rename(config, `${config}.moved`);
      await mkdir(config);
      execFileSync("mkfifo", [join(config, "settings_local.py")]);
      await chown(config, genTest(), genTest());
      const fifo = await server.gen(["diff", "t"], { timeoutMs: LIMIT_MS });
      assert.equal(fifo.code, 2, fifo.all);
      assert.match(fifo.out, new RegExp(`^change ${CONFIG}/settings_local.py  \\(edited on the server since the last apply\\)$`, "m"));

      await rm(config, { recursive: true });
      const secret = await rootOnlyFile(server, "settings_local.py", `# ${ROOT_ONLY}\nDEBUG = False\n`);
      await symlink(join(secret, ".."), config);
      const linked = await server.gen(["diff", "t"], { timeoutMs: LIMIT_MS });
      assert.equal(linked.code, 2, linked.all);
      assert.match(linked.out, new RegExp(`^unreadable ${CONFIG}/settings_local.py(  \\(.*\\))?$`, "m"));
      assert.match(linked.out, /cannot read it: a symbolic link is on the way: gen does not read through a link it did not make/);
      assert.doesNotMatch(linked.all, new RegExp(ROOT_ONLY));
    }));

  it("a server file above the size gen shows is compared by its hash and said to be too large, never read whole", () =>
    withServer(async (server) => {
      const big = server.file(LOGROTATE);
      await writeFile(big, `${"# a line of a very large file\n".repeat(400_000)}`);
      await chmod(big, 0o644);
      const run = await server.gen(["diff", "t"], { timeoutMs: LIMIT_MS });
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, new RegExp(`^change ${LOGROTATE}  \\(edited on the server since the last apply\\)$`, "m"));
      assert.match(
        run.out,
        /the server's file \(12000000 bytes\) is larger than the 10 MiB gen shows: it differs by its sha256 \([0-9a-f]{64}\); its content is not shown/,
      );
      assert.ok(run.out.length < 10_000, `the diff printed ${run.out.length} characters`);
    }));
});
