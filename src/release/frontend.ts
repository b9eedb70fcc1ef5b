// The front end is built locally (as the reference deploy script does) and its output uploaded into public/.
// Effects: runs the environment's build commands in the checkout, streaming their output.
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { GenError } from "../errors.js";
import { runLocalProcess } from "../transport/local-run.js";

export async function runLocalCommand(argv: string[], cwd: string, onOutput: (chunk: string) => void): Promise<void> {
  const [file, ...args] = argv;
  const result = await runLocalProcess(file!, args, { cwd, env: process.env, onOutput });
  if (result.exitCode !== 0)
    throw new GenError(`\`${argv.join(" ")}\` failed in ${cwd} (exit ${result.exitCode})`, { details: result.exitCode === 127 ? [result.stderr.trim()] : [] });
}

/** Every file under the build output, as paths relative to it (sorted). */
export async function listBuildOutput(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    throw new GenError(`the front-end build output ${dir} does not exist: build it first, or drop --skip-front-build`);
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}
