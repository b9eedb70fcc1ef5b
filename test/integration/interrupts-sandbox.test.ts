// gen apply of 1500 files in the sandbox, stopped by a signal at points spread over a run (support/apply-interrupts.ts):
// each run leaves the set whole-old or whole-new, no lock and no staged file, says which, and ends by the signal once
// it did its part (or, before any host was being changed, at once). Signals go to gen's process group, as a
// terminal sends them; the sandbox's own processes run in a session of their own, as a server's would. One point
// decides its outcome here: the lock just taken, the sandbox's session held with SIGSTOP while the signal comes:
// stopped before any file moved (once the round trip that stages, checks and installs is sent, it is let finish: the
// '"staging"' point). A second Ctrl-C stops gen at once; the install program puts back what it moved.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inTerminalSync } from "../support/in-terminal.js";
import { childPids, runInterrupted } from "../support/interrupted-run.js";
import { assertJsonOutput } from "../support/json-output.js";
import { genBin } from "../support/run-gen.js";
import { FOLDER, files, LOCK, secondCtrlC, setOf, spreadRuns, useVersion, type Point, type Target } from "./support/apply-interrupts.js";

describe("gen apply interrupted, in the sandbox", { timeout: 20 * 60_000 }, () => {
  const project = mkdtempSync(join(tmpdir(), "gen-interrupts-"));
  const target: Target = {
    host: "local",
    cwd: project,
    args: (command) => [...command.slice(0, 1), "sb", ...command.slice(1)],
    file: (serverPath) => join(project, ".gen-local/sb", serverPath),
    template: join(project, "environments/many.njk"),
  };
  before(async () => {
    mkdirSync(join(project, "environments"));
    const env = { extends: "preset:example", server: { transport: "local", localRoot: ".gen-local/sb" }, files };
    writeFileSync(join(project, "environments/sb.json"), JSON.stringify(env));
    useVersion(target, "A");
    const first = await runInterrupted(target.args(["apply", "--yes"]), [], { cwd: project });
    assert.equal(first.code, 0, first.err);
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  // The sandbox's session (gen's child, a process group of its own) is held with SIGSTOP as soon as the lock is there,
  // while it reads the 1500 files again under the lock: the signal comes then, and the session goes on once gen said
  // it is stopping.
  let held: number[] = [];
  const hold = (signal: "SIGSTOP" | "SIGCONT") => {
    for (const group of held) {
      try {
        process.kill(-group, signal);
      } catch {
        // not a process group (or gone): not the session
      }
    }
  };
  const stagedFiles = () => readdirSync(target.file(FOLDER)).some((name) => name.startsWith(".gen-stage."));
  const lockTaken = () => existsSync(target.file(LOCK)) && !stagedFiles();
  const lockJustTaken: Point = {
    name: "the lock just taken (the session held)",
    signal: "SIGINT",
    ending: "before any file moved",
    interruptions: () => [
      {
        at: { when: lockTaken },
        run: (pid) => {
          held = childPids(pid);
          hold("SIGSTOP");
        },
        signal: "SIGINT",
      },
      { at: { output: /^gen: SIGINT: stopping/m }, run: () => hold("SIGCONT") },
    ],
    tearDown: async () => hold("SIGCONT"),
  };

  it("leaves the set whole-old or whole-new, no lock, and says which, at every point of a run", async (t) => {
    await spreadRuns(target, [lockJustTaken], (text) => t.diagnostic(text));
  });

  it("stops at once on a second Ctrl-C; the install is put back or finished, and the next apply takes the lock over", async (t) => {
    await secondCtrlC(target, (text) => t.diagnostic(text));
  });

  it("finishes when its terminal closes during the install (SIGHUP, then every write failing), and releases the lock", () => {
    const old = setOf(target);
    const next = old === "A" ? "B" : "A";
    useVersion(target, next);
    const run = inTerminalSync({ argv: [process.execPath, genBin, ...target.args(["apply", "--yes"])], cwd: project, close_when: "staging 1500 files" });
    // Ended by SIGHUP once it had finished (Node 20's own exit would abort, unable to reset the closed terminal).
    assert.equal(run.exit, -1, run.out);
    assert.equal(setOf(target), next);
    assert.equal(existsSync(target.file(LOCK)), false, "the lock was released");
  });

  it("says it in --json too: the host's outcome and the signal", async () => {
    const old = setOf(target);
    useVersion(target, old === "A" ? "B" : "A");
    const run = await runInterrupted(target.args(["apply", "--yes", "--json"]), [{ at: { output: /^local: staging 1500 files/m }, signal: "SIGTERM" }], {
      cwd: project,
    });
    assert.equal(run.signal, "SIGTERM", run.err);
    const result = assertJsonOutput<{ outcome: string; interrupted: string; hosts: { outcome: string; interrupted: string; changed: string[] }[] }>(
      "apply",
      run.out,
    );
    assert.deepEqual(
      [result.outcome, result.interrupted, result.hosts[0]!.outcome, result.hosts[0]!.interrupted],
      ["applied", "SIGTERM", "applied", "SIGTERM"],
    );
    assert.equal(result.hosts[0]!.changed.length, 1500);
  });
});
