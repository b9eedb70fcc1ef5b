// The front end is built locally (as the reference deploy script does) and its output uploaded into public/.
// Effects: runs the environment's build commands in the checkout, streaming their output.
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { GenError } from "../errors.js";

export async function runLocalCommand(argv: string[], cwd: string, onOutput: (chunk: string) => void): Promise<void> {
  const [file, ...args] = argv;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file!, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => onOutput(chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => onOutput(chunk.toString("utf8")));
    child.on("error", (error) => reject(new GenError(`cannot run ${argv.join(" ")} in ${cwd}: ${error.message}`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new GenError(`\`${argv.join(" ")}\` failed in ${cwd} (exit ${code})`))));
  });
}

/** Every file under the build output, as paths relative to it (sorted). */
export async function listBuildOutput(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    throw new GenError(`the front-end build output ${dir} does not exist: build it first, or drop --skip-front-build`);
  }
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}
