// Moves staged files into place with an atomic rename, keeping the previous version of each as a backup, and
// puts backups back when a later step fails. Each step prints what it did, so a half-done step is known.
import { posix } from "node:path";
import { GenError } from "../errors.js";
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
  const lines = staged.map(({ entry, staged: from }) => {
    const target = shell.path(entry.path);
    const backup = `${backups}${entry.path}`;
    return [
      `if [ -e ${target} ] || [ -L ${target} ]; then mkdir -p ${shell.path(posix.dirname(backup))} && cp -a ${target} ${shell.path(backup)} && echo ${shell.quote(`BACKUP ${entry.path}`)}; fi`,
      `mv -fT ${shell.path(from)} ${target}`,
      `echo ${shell.quote(`MOVED ${entry.path}`)}`,
    ].join("\n");
  });
  const result = await shell.script(["set -e", `mkdir -p ${shell.path(backups)}`, ...lines].join("\n"), "moving the files into place");
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
    const target = shell.path(path);
    if (backup === undefined) return `rm -f ${target} && echo ${shell.quote(`RESTORED ${path} (removed, it was new)`)}`;
    const temp = shell.path(posix.join(posix.dirname(path), `.gen-restore.${posix.basename(path)}`));
    return `cp -a ${shell.path(backup)} ${temp} && mv -fT ${temp} ${target} && echo ${shell.quote(`RESTORED ${path}`)}`;
  });
  const result = await shell.script(lines.join("\n"), "restoring the files");
  return result.stdout.split("\n").filter((l) => l.startsWith("RESTORED ")).map((l) => l.slice(9));
}
