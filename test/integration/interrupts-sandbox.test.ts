// gen apply of 1500 files in the sandbox, stopped by a signal at points spread over a run (support/apply-interrupts.ts):
// each run leaves the set whole-old or whole-new, no lock and no staged file, says which, and ends by the signal once
// it did its part (or, before any host was being changed, at once). Signals go to gen's process group, as a
// terminal sends them; the sandbox's own processes run in a session of their own, as a server's would. One point
// decides its outcome here: the staging under way, the sandbox's session held with SIGSTOP while the signal comes:
// stopped before any file moved. A second Ctrl-C stops gen at once; the install program puts back what it moved.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { childPids, runInterrupted } from "../support/interrupted-run.js";
import { assertJsonOutput } from "../support/json-output.js";
import { genBin } from "../support/run-gen.js";
import { testCacheHome } from "../support/test-cache-home.js";
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

  // The sandbox's session (gen's child, a process group of its own) is held with SIGSTOP while it stages: the signal
  // comes then, and the session goes on once gen said it is stopping.
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
  const duringStaging: Point = {
    name: "the staging under way (the session held)",
    signal: "SIGINT",
    ending: "before any file moved",
    interruptions: () => [
      {
        at: { when: stagedFiles },
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
    await spreadRuns(target, [duringStaging], (text) => t.diagnostic(text));
  });

  it("stops at once on a second Ctrl-C; the install is put back or finished, and the next apply takes the lock over", async (t) => {
    await secondCtrlC(target, (text) => t.diagnostic(text));
  });

  it("finishes when its terminal closes during the install (SIGHUP, then every write failing), and releases the lock", () => {
    const old = setOf(target);
    const next = old === "A" ? "B" : "A";
    useVersion(target, next);
    const run = inClosingTerminal([process.execPath, genBin, ...target.args(["apply", "--yes"])], project, "staging 1500 files");
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

/**
 * Runs `argv` in a terminal of its own (a pseudo-terminal, as a terminal window gives), reads it until `until` is
 * shown, then closes the terminal: the kernel sends SIGHUP to gen, and every later write to it fails (EIO).
 */
function inClosingTerminal(argv: string[], cwd: string, until: string): { exit: number; out: string } {
  const program = [
    "import json, os, pty, select, sys",
    "argv, cwd, until = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3].encode()",
    "pid, fd = pty.fork()",
    "if pid == 0:",
    "    os.chdir(cwd)",
    "    os.execvp(argv[0], argv)",
    'out = b""',
    "while until not in out:",
    "    if not select.select([fd], [], [], 120)[0]:",
    "        break",
    "    try:",
    "        chunk = os.read(fd, 65536)",
    "    except OSError:",
    "        break",
    "    if not chunk:",
    "        break",
    "    out += chunk",
    "os.close(fd)",
    "status = os.waitpid(pid, 0)[1]",
    'print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "out": out.decode("utf-8", "replace")}))',
  ].join("\n");
  const env = { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome() };
  const printed = execFileSync("python3", ["-c", program, JSON.stringify(argv), cwd, until], { env, encoding: "utf8", timeout: 180_000 });
  return JSON.parse(printed) as { exit: number; out: string };
}
