// An apply that did its work but could not release gen's lock says so, naming the host, the path and the cause
// (also in --json), and exits 1: the next apply stops at that lock. The failure is real: a handler run between
// the install and the clean-up (the systemctl stand-in, as root) makes the lock folder immutable (chattr +i,
// which stops root too), so the clean-up's rm fails on the server.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { assertJsonOutput } from "../support/json-output.js";
import { startGenServer } from "./support/gen-server.js";

const LOCKS = "/var/lib/gen/tsosi/locks";

describe("gen apply and its lock", () => {
  it("warns, naming host, lock path and cause, and exits 1 when it cannot release the lock after applying", async () => {
    const server = await startGenServer();
    const locks = server.file(LOCKS);
    const immutable = (on: boolean) => spawnSync("chattr", [on ? "+i" : "-i", locks], { encoding: "utf8" });
    try {
      await server.runOn("daemon-reload", `chattr +i '${locks}'`);
      const run = await server.gen(["apply", "t", "--yes"]);
      assert.ok(existsSync(locks), run.all);
      const attrs = execFileSync("lsattr", ["-d", locks], { encoding: "utf8" });
      assert.match(attrs, /^\S*i\S* /, `the test needs chattr +i to work on ${locks} (a file system with the immutable flag, e.g. ext4): ${attrs}`);
      assert.equal(run.code, 1, run.all);
      assert.match(run.out, /^127\.0\.0\.1: applied 10 files; ran /m, "the files were applied");
      assert.match(
        run.err,
        /^warning: 127\.0\.0\.1: could not release gen's lock \/var\/lib\/gen\/tsosi\/locks\/lock: cleaning up and releasing the lock failed on .+ \(exit 1\)$/m,
      );
      assert.match(run.err, /^ {2}rm: cannot remove '.*\/locks\/lock': Operation not permitted$/m);
      assert.match(run.err, /^ {2}the next apply, deploy or rollback stops at this lock: .*--force-unlock/m);
      assert.ok(existsSync(`${locks}/lock`), "the lock is still there, as the warning says");

      // --json: a field of the host, exit 1. The next apply stops at the lock; with --force-unlock it would take it
      // over, but the folder is still immutable, so it fails to release it again.
      immutable(false);
      await server.writeEnv({ gunicorn: { workers: 7 } });
      const json = await server.gen(["apply", "t", "--yes", "--force-unlock", "--json"]);
      assert.equal(json.code, 1, json.all);
      const result = assertJsonOutput<{ outcome: string; hosts: { outcome: string; warnings?: { what: string; path: string; details: string[] }[] }[] }>(
        "apply",
        json.out,
      );
      assert.equal(result.outcome, "applied");
      assert.deepEqual(
        result.hosts[0]!.warnings?.map((w) => [w.what, w.path]),
        [["unlock", `${LOCKS}/lock`]],
      );
      assert.match(result.hosts[0]!.warnings![0]!.details.join("\n"), /Operation not permitted/);
    } finally {
      immutable(false);
      await server.stop();
    }
  });
});
