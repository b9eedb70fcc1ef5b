// The programs gen runs with python3 or sh (src/**/*.py and *.sh, read through src/program-text.ts) are checked as
// code on every test run: every Python file compiles with warnings as errors (python3 -m py_compile) and passes
// pyflakes3, every shell script passes shellcheck as POSIX sh, every program is run by some module, and Python's own
// unit tests (src/**/test_*.py) pass, folder by folder: a folder's modules import each other by name, as the program
// they are sent with does. A checker that is not installed fails the test, naming its Debian package: nothing
// passes for want of a checker.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { packageRoot } from "../src/paths.js";

const src = join(packageRoot, "src");
const files = readdirSync(src, { recursive: true, encoding: "utf8" })
  .filter((file) => !file.split("/").includes("__pycache__"))
  .sort();
const python = files.filter((file) => file.endsWith(".py"));
const shell = files.filter((file) => file.endsWith(".sh"));
const unitTests = python.filter((file) => basename(file).startsWith("test_"));
const programs = [...python, ...shell].filter((file) => !unitTests.includes(file));

// py_compile writes what it compiled: into a folder of its own, not beside the sources.
const cache = mkdtempSync(join(tmpdir(), "gen-pycache-"));
after(() => rmSync(cache, { recursive: true, force: true }));

/** Runs a checker in src/; a checker that is not installed fails, naming the Debian package that has it. */
function check(tool: string, debianPackage: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = src): SpawnSyncReturns<string> {
  const run = spawnSync(tool, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, timeout: 300_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    assert.fail(`${tool} is not installed: apt-get install ${debianPackage} (npm run test:full installs it)`);
  }
  assert.equal(run.error, undefined, `${tool} did not run: ${run.error?.message}`);
  return run;
}

describe("the programs gen runs with python3 and sh", () => {
  test("are found: the Python programs, their unit tests and the shell scripts", () => {
    for (const expected of ["server/root_files.py", "doctor/doctor.py", "doctor/postgres_login.py", "doctor/test_postgres_login.py"]) {
      assert.ok(files.includes(expected), `src/${expected} is there`);
    }
    assert.ok(shell.length > 0, "shell scripts are found");
  });

  test("each is run by a module beside it (programText), none is left over", () => {
    const unused = programs.filter((file) => {
      const folder = join(src, dirname(file));
      const call = `programText(import.meta.url, "./${basename(file)}")`;
      return !readdirSync(folder).some((name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && readFileSync(join(folder, name), "utf8").includes(call));
    });
    assert.deepEqual(unused, []);
  });

  test("every Python file compiles, warnings as errors (python3 -m py_compile)", () => {
    const run = check("python3", "python3", ["-W", "error", "-m", "py_compile", ...python], { PYTHONPYCACHEPREFIX: cache });
    assert.equal(run.status, 0, run.stderr + run.stdout);
  });

  test("pyflakes3 finds nothing in any Python file", () => {
    const run = check("pyflakes3", "pyflakes3", python);
    assert.equal(run.stdout + run.stderr, "");
    assert.equal(run.status, 0);
  });

  test("the suite's own terminal driver (test/support/terminal_driver.py) compiles and pyflakes3 finds nothing in it", () => {
    const where = join(packageRoot, "test", "support");
    const compiled = check("python3", "python3", ["-W", "error", "-m", "py_compile", "terminal_driver.py"], { PYTHONPYCACHEPREFIX: cache }, where);
    assert.equal(compiled.status, 0, compiled.stderr + compiled.stdout);
    const flakes = check("pyflakes3", "pyflakes3", ["terminal_driver.py"], {}, where);
    assert.equal(flakes.stdout + flakes.stderr, "");
    assert.equal(flakes.status, 0);
  });

  test("shellcheck finds nothing in any shell script (POSIX sh, as the server runs them)", () => {
    const run = check("shellcheck", "shellcheck", ["--shell=sh", "--format=gcc", ...shell]);
    assert.equal(run.stdout + run.stderr, "");
    assert.equal(run.status, 0);
  });

  for (const folder of [...new Set(unitTests.map(dirname))]) {
    test(`Python's unit tests of src/${folder} pass (python3 -m unittest)`, () => {
      const where = join(src, folder);
      const run = check(
        "python3",
        "python3",
        ["-m", "unittest", "discover", "-s", where, "-t", where, "-p", "test_*.py"],
        { PYTHONDONTWRITEBYTECODE: "1" },
        where,
      );
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /^Ran [1-9]\d* tests? /m);
    });
  }
});
