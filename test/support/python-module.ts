// Calls a function of one of gen's Python programs or modules (src/**/*.py) in this machine's python3, as a module
// imported from its source folder (the program's main does not run): for tests that pair the TypeScript side of a
// program (its spec) with its Python side. Logic that is Python's alone is tested with Python's unittest instead
// (src/**/test_*.py, run by test/server-programs.test.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";

/** `module.name(*args)` of src/<folder>/<module>.py, arguments and result as JSON. */
export function callPython(folder: string, module: string, name: string, ...args: unknown[]): unknown {
  const harness = `import json, sys\nimport ${module}\nprint(json.dumps(${module}.${name}(*json.loads(sys.stdin.read()))))\n`;
  const run = spawnSync("python3", ["-c", harness], {
    input: JSON.stringify(args),
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: join(packageRoot, "src", folder), PYTHONDONTWRITEBYTECODE: "1" },
  });
  assert.equal(run.status, 0, `python3 (Debian package python3) ran ${module}.${name}: ${run.error?.message ?? run.stderr}`);
  return JSON.parse(run.stdout);
}
