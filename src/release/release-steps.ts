// What the release stages share to build their steps: a command as a step's script, and a file written from the
// step's input.
import { statusStep, type ServerShell } from "../server/server-shell.js";
import type { TypedStep } from "../transport/typed-steps.js";

/** argv run in `cwd` (a server path), as run() would: status 2 when the folder is not there. */
export function commandScript(shell: ServerShell, argv: string[], cwd?: string): string {
  const command = argv.map(shell.quote).join(" ");
  return cwd === undefined ? command : `cd -- ${shell.path(cwd)} || exit 2\n${command}`;
}

/** `content` written to `path` with exactly `mode`, whatever the umask (the step's input, no upload channel). */
export function writeFileStep(shell: ServerShell, path: string, content: string, mode: string): TypedStep<void> {
  // -T: a folder the deploy user made in the file's place fails the step; without it, install writes into the folder.
  return statusStep(shell, `writing ${path}`, `install -T -m ${shell.quote(mode)} /dev/stdin ${shell.path(path)}`, content);
}
