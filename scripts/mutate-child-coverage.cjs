// Stryker's tap runner sees the coverage of the test process only, so a mutant that only the gen bin reaches (a test
// runs it as a child process) would be "no coverage" and never run. Loaded ahead of Stryker's hook into each test
// process of the dry run (scripts/mutate.mjs puts it in the runner's nodeArgs), this file passes itself on to every
// node process a test starts (NODE_OPTIONS); each child writes what it covered when it exits, and the test process
// adds that to its own before the hook reports it. Only the dry run measures coverage: in a mutant's run this does
// nothing (the child runs the mutant anyway: it inherits __STRYKER_ACTIVE_MUTANT__).
// A child started with a clean environment (a test running gen as another user) neither reports nor runs mutants.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const DIR_VARIABLE = "GEN_MUTATE_CHILD_COVERAGE";
const namespace = process.env.STRYKER_NAMESPACE ?? "__stryker__";

function coverageOf(value) {
  return value?.[namespace]?.mutantCoverage;
}

function addCounts(into, from) {
  for (const [id, count] of Object.entries(from ?? {})) into[id] = (into[id] ?? 0) + count;
}

if (process.env.STRYKER_DRY_RUN === "true") {
  const dir = process.env[DIR_VARIABLE];
  if (dir === undefined) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), "gen-mutate-coverage-"));
    fs.chmodSync(made, 0o1777);
    process.env[DIR_VARIABLE] = made;
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --require ${__filename}`.trim();
    // Registered before the hook's own exit handler, so it runs first.
    process.on("exit", () => {
      const own = (global[namespace] ??= {});
      own.mutantCoverage ??= { static: {}, perTest: {} };
      for (const name of fs.readdirSync(made)) {
        try {
          addCounts(own.mutantCoverage.static, JSON.parse(fs.readFileSync(path.join(made, name), "utf8")).static);
        } catch {
          // A child cut off while writing: its coverage is lost, the run is not.
        }
      }
      fs.rmSync(made, { recursive: true, force: true });
    });
  } else {
    const writeCoverage = () => {
      const covered = coverageOf(global);
      if (covered === undefined) return;
      try {
        fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(covered));
      } catch {
        // Not ours to fail a test over.
      }
    };
    process.on("exit", writeCoverage);
    // A command stopped by a signal ends gen by that signal (src/cli/interrupts.ts: process.kill of its own pid), and
    // a process killed by a signal emits no "exit": what it covered is written first.
    const kill = process.kill;
    process.kill = function killWritingCoverage(pid, signal) {
      if (Number(pid) === process.pid) writeCoverage();
      return kill.call(process, pid, signal);
    };
  }
}
