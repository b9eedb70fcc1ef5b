// The front end is built locally (as the reference deploy script does) and its output uploaded into public/.
// Effects: runs the environment's build commands in the checkout, streaming their output.
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { GenError } from "../errors.js";
import { runLocalProcess } from "../transport/local-run.js";

/** How long a command that a signal ended leaves gen to handle its own copy of that signal before saying it failed. */
const SIGNAL_SETTLE_MS = 50;

export async function runLocalCommand(argv: string[], cwd: string, onOutput: (chunk: string) => void): Promise<void> {
  const [file, ...args] = argv;
  const result = await runLocalProcess(file!, args, { cwd, env: process.env, onOutput });
  // The terminal's Ctrl-C reaches gen and the command together; the command's end may be seen first. gen's own signal,
  // already delivered, is handled within an event-loop turn (src/cli/interrupts.ts: stopped, nothing on a server
  // changed), rather than told as the command's failure.
  if (result.exitCode > 128) await new Promise((settled) => setTimeout(settled, SIGNAL_SETTLE_MS));
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
