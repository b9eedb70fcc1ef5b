// Moves staged files into place with an atomic rename, keeping the previous version of each as a backup, and
// puts backups back when a later step fails. One step per file, so what was done is known file by file.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { pinFolderLines, pinned } from "../server/link-safe.js";
import type { StagedFile } from "./stage.js";
import type { Step } from "../transport/transport.js";
import { outputLines, sudoRefusedHint, type ServerShell, type StepOutput } from "../server/server-shell.js";

export interface Installed {
  path: string;
  /** Where the previous version was saved; absent when the file is new. */
  backup?: string;
}

export function backupDir(stateDir: string, applyId: string): string {
  return `${stateDir}/backups/${applyId}`;
}

/** One step per file, chained: the first that fails stops the rest (and whatever is chained after them). */
export function installSteps(shell: ServerShell, staged: StagedFile[], backups: string): Step[] {
  // Through the pinned folder: the backup copies and the rename act on the folder preflight checked.
  return staged.map(({ entry, staged: from }, i) => {
    const target = pinned(shell, posix.basename(entry.path));
    const backup = `${backups}${entry.path}`;
    return {
      name: `moving ${entry.path} into place`,
      afterSuccess: i > 0,
      script: [
        "set -e",
        ...(i === 0 ? [`mkdir -p ${shell.path(backups)}`] : []),
        ...pinFolderLines(shell, posix.dirname(entry.path)),
        // stdout says whether the previous version was kept: the restore needs to know.
        `if [ -e ${target} ] || [ -L ${target} ]; then mkdir -p ${shell.path(posix.dirname(backup))} && cp -a ${target} ${shell.path(backup)} && printf kept; fi`,
        `mv -fT ${pinned(shell, posix.basename(from))} ${target}`,
      ].join("\n"),
    };
  });
}

/** Which files moved (with or without a backup), and the first failure. */
export function installOutcome(shell: ServerShell, staged: StagedFile[], backups: string, runs: StepOutput[]): { installed: Installed[]; error?: GenError } {
  const installed = staged.flatMap(({ entry }, i): Installed[] => {
    const run = runs[i]!;
    if (run.exitCode !== 0) return [];
    return [run.stdout === "kept" ? { path: entry.path, backup: `${backups}${entry.path}` } : { path: entry.path }];
  });
  const failed = runs.find((run) => !run.skipped && run.exitCode !== 0);
  if (!failed) return { installed };
  return { installed, error: new GenError(`moving files into place failed on ${shell.transport.describe}`, { details: [...outputLines(failed), ...sudoRefusedHint(shell.sudo, failed)] }) };
}

/** Puts every installed file back as it was: the backup renamed over it, or the new file removed. One step each. */
export async function restoreInstalled(shell: ServerShell, installed: Installed[]): Promise<string[]> {
  if (installed.length === 0) return [];
  const runs = await shell.steps(
    installed.map(({ path, backup }) => {
      const target = pinned(shell, posix.basename(path));
      const pin = pinFolderLines(shell, posix.dirname(path));
      if (backup === undefined) return { name: `removing ${path}`, script: [...pin, `rm -f ${target}`].join("\n") };
      const temp = pinned(shell, `.gen-restore.${posix.basename(path)}`);
      return { name: `restoring ${path}`, script: [...pin, `cp -a ${shell.path(backup)} ${temp} && mv -fT ${temp} ${target}`].join("\n") };
    }),
  );
  return installed.flatMap(({ path, backup }, i) => (runs[i]!.exitCode !== 0 ? [] : [backup === undefined ? `${path} (removed, it was new)` : path]));
}
