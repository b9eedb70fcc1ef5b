// The programs an apply starts on the server, counted as the bench counts them (bench/server-work.ts: strace
// following the test's sshd, each execve that succeeded). Besides what sshd and the login start, the tools that check
// the staged files and the handlers, an apply of changed files starts exactly: python3 three times (the probe that
// takes the lock, the staging, the install), mv (the record's rename) and rm (the clean-up and the unlock); with
// nothing to do, the probe and the unlock; gen diff, the probe; a reviewed plan, the read it was reviewed from and
// then what apply --yes starts. A program added back to a step (a getent, a head, a stat, an install...) fails it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstat, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tracePrograms } from "../../bench/server-work.js";
import { apply, appliedOnce, MANAGED, STATE, withServer } from "./support/apply-server.js";
import type { GenServer } from "./support/gen-server.js";

/** What sshd, the login and sudo start for a session, whatever gen sends it. */
const SESSION = ["bash", "sh", "dash", "env", "sudo", "uname", "run-parts", "10-uname"];
/** The tools that check the staged files, and the test server's stand-ins for systemctl and nginx -t. */
const CHECKS_AND_HANDLERS = ["visudo", "logrotate", "systemd-analyze", "systemctl", "nginx-test"];

/** The programs `run` started on the server besides the session's own, the checks and the handlers, sorted; and all of them. */
async function started(server: GenServer, run: () => Promise<unknown>): Promise<{ others: string[]; all: Map<string, number> }> {
  const all = await tracePrograms(server.sshd.pid, join(server.tempDir, "execve.trace"), run);
  const others = [...all]
    .filter(([name]) => !SESSION.includes(name) && !CHECKS_AND_HANDLERS.includes(name))
    .flatMap(([name, count]) => Array.from({ length: count }, () => name))
    .sort();
  return { others, all };
}

describe("the programs an apply starts on the server", () => {
  it("changed files: the checks, the handlers, python3 three times, mv and rm; nothing to do: python3 and rm; diff: python3; a reviewed plan: its read's python3 besides", () =>
    withServer(async (server) => {
      assert.equal(spawnSync("strace", ["-V"]).error, undefined, "strace is not installed: apt-get install strace (npm run test:full installs it)");
      // One apply's backups kept: the traced apply removes the one before's too (in the clean-up's rm).
      await server.writeEnv({ server: { backupsKept: 1 } });
      await appliedOnce(server);
      const changeEveryFile = async () => {
        for (const path of MANAGED) {
          const file = server.file(path);
          if (!(await lstat(file)).isSymbolicLink()) await writeFile(file, `# changed on the server\n${await readFile(file, "utf8")}`);
        }
      };
      await changeEveryFile();
      let run = await apply(server);
      assert.equal(run.code, 0, run.all);
      await changeEveryFile();
      const before = await readdir(server.file(`${STATE}/backups`));
      const changed = await started(server, async () => (run = await apply(server)));
      assert.equal(run.code, 0, run.all);
      assert.match(run.all, /applied \d+ files/);
      const after = await readdir(server.file(`${STATE}/backups`));
      assert.equal(after.length, 1);
      assert.ok(!before.includes(after[0]!), "the older apply's backups were removed, this one's kept");
      for (const tool of CHECKS_AND_HANDLERS) assert.ok(changed.all.has(tool), `${tool} ran: ${[...changed.all.keys()].join(", ")}`);
      assert.deepEqual(changed.others, ["mv", "python3", "python3", "python3", "rm"]);

      const unchanged = await started(server, async () => (run = await apply(server)));
      assert.equal(run.code, 0, run.all);
      assert.deepEqual(unchanged.others, ["python3", "rm"]);

      const diff = await started(server, async () => (run = await server.gen(["diff", "t"])));
      assert.equal(run.code, 0, run.all);
      assert.deepEqual(diff.others, ["python3"]);

      // A reviewed plan (saved here; one answered at the terminal goes the same way): the read it is checked against,
      // then the same programs as apply --yes, the lock taken by the probe that reads the server again.
      await changeEveryFile();
      const planFile = join(server.tempDir, "plan.json");
      run = await server.gen(["diff", "t", "--out", planFile]);
      assert.equal(run.code, 2, run.all);
      const reviewed = await started(server, async () => (run = await apply(server, "--plan", planFile)));
      assert.equal(run.code, 0, run.all);
      assert.match(run.all, /applied \d+ files/);
      for (const tool of CHECKS_AND_HANDLERS) assert.ok(reviewed.all.has(tool), `${tool} ran: ${[...reviewed.all.keys()].join(", ")}`);
      assert.deepEqual(reviewed.others, ["mv", "python3", "python3", "python3", "python3", "rm"]);
    }));
});
