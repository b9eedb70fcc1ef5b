// What the release stages share to run their steps: a command as a step's script, a file written from the step's
// input, and the parser of a step that only has to succeed.
import type { ServerShell } from "../server/server-shell.js";
import { outputLines } from "../server/server-shell.js";
import { GenError } from "../errors.js";
import { orThrow, type Parsed } from "../transport/step-records.js";
import type { CommandResult, Step } from "../transport/transport.js";

/** argv run in `cwd` (a server path), as run() would: status 2 when the folder is not there. */
export function commandScript(shell: ServerShell, argv: string[], cwd?: string): string {
  const command = argv.map(shell.quote).join(" ");
  return cwd === undefined ? command : `cd -- ${shell.path(cwd)} || exit 2\n${command}`;
}

/** `content` written to `path` with exactly `mode`, whatever the umask (the step's input, no upload channel). */
export function writeFileStep(shell: ServerShell, path: string, content: string, mode: string): Step {
  return { name: `writing ${path}`, stdin: content, script: `install -m ${shell.quote(mode)} /dev/stdin ${shell.path(path)}` };
}

/** A step that only has to succeed: its status read, its output named when it failed. */
export function parseStatus(step: Pick<Step, "name">, where: string, run: CommandResult): Parsed<void> {
  if (run.exitCode === 0) return { ok: true, value: undefined };
  return { ok: false, error: new GenError(`${step.name} failed on ${where} (exit ${run.exitCode})`, { details: outputLines(run) }) };
}

/** Steps that only have to succeed, in one round trip, chained; throws the first failure. */
export async function runSteps(shell: ServerShell, steps: Step[]): Promise<void> {
  const runs = await shell.steps(steps.map((step, i) => ({ ...step, afterSuccess: i > 0 })));
  for (const [i, run] of runs.entries()) orThrow(parseStatus(steps[i]!, shell.transport.describe, run));
}
