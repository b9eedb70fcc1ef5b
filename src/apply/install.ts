// Moves staged files into place with an atomic rename, keeping the previous version of each as a backup, and
// puts backups back when a later step fails. Each step prints what it did, so a half-done step is known.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { pinFolderLines, pinned } from "./link-safe.js";
import type { StagedFile } from "./stage.js";
import { outputLines, type ServerShell } from "./server-shell.js";

export interface Installed {
  path: string;
  /** Where the previous version was saved; absent when the file is new. */
  backup?: string;
}

export function backupDir(stateDir: string, applyId: string): string {
  return `${stateDir}/backups/${applyId}`;
}

export async function installStaged(shell: ServerShell, staged: StagedFile[], backups: string): Promise<{ installed: Installed[]; error?: GenError }> {
  // Through the pinned folder: the backup copies and the rename act on the folder preflight checked.
  const lines = staged.map(({ entry, staged: from }) => {
    const target = pinned(shell, posix.basename(entry.path));
    const backup = `${backups}${entry.path}`;
    return [
      "(",
      ...pinFolderLines(shell, posix.dirname(entry.path)),
      `if [ -e ${target} ] || [ -L ${target} ]; then mkdir -p ${shell.path(posix.dirname(backup))} && cp -a ${target} ${shell.path(backup)} && echo ${shell.quote(`BACKUP ${entry.path}`)}; fi`,
      `mv -fT ${pinned(shell, posix.basename(from))} ${target}`,
      `echo ${shell.quote(`MOVED ${entry.path}`)}`,
      ")",
    ].join("\n");
  });
  const result = await shell.script(["set -e", `mkdir -p ${shell.path(backups)}`, ...lines].join("\n"));
  const moved = new Set(result.stdout.split("\n").filter((l) => l.startsWith("MOVED ")).map((l) => l.slice(6)));
  const backedUp = new Set(result.stdout.split("\n").filter((l) => l.startsWith("BACKUP ")).map((l) => l.slice(7)));
  const installed = staged
    .filter(({ entry }) => moved.has(entry.path))
    .map(({ entry }) => (backedUp.has(entry.path) ? { path: entry.path, backup: `${backups}${entry.path}` } : { path: entry.path }));
  if (result.exitCode === 0) return { installed };
  return { installed, error: new GenError(`moving files into place failed on ${shell.transport.describe}`, { details: outputLines(result) }) };
}

/** Puts every installed file back as it was: the backup renamed over it, or the new file removed. */
export async function restoreInstalled(shell: ServerShell, installed: Installed[]): Promise<string[]> {
  const lines = installed.map(({ path, backup }) => {
    const target = pinned(shell, posix.basename(path));
    const restore = backup === undefined
      ? `rm -f ${target} && echo ${shell.quote(`RESTORED ${path} (removed, it was new)`)}`
      : `cp -a ${shell.path(backup)} ${pinned(shell, `.gen-restore.${posix.basename(path)}`)} && mv -fT ${pinned(shell, `.gen-restore.${posix.basename(path)}`)} ${target} && echo ${shell.quote(`RESTORED ${path}`)}`;
    return ["(", ...pinFolderLines(shell, posix.dirname(path)), restore, ")"].join("\n");
  });
  const result = await shell.script(lines.join("\n"));
  return result.stdout.split("\n").filter((l) => l.startsWith("RESTORED ")).map((l) => l.slice(9));
}
