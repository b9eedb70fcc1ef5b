// Moves staged files into place with an atomic rename, keeping the previous version of each as a backup, and
// puts backups back when a later step fails. One step per file, so what was done is known file by file.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { z } from "zod";
import { LinkRecord, pinFolderLines, pinned, refusalLines } from "../server/link-safe.js";
import type { StagedFile } from "./stage.js";
import { parseRecords, printRecord, type Parsed } from "../transport/step-records.js";
import type { CommandResult, Step } from "../transport/transport.js";
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
        // A record says whether the previous version was kept: the restore needs to know.
        `if [ -e ${target} ] || [ -L ${target} ]; then { [ -d ${shell.path(posix.dirname(backup))} ] || mkdir -p ${shell.path(posix.dirname(backup))}; } && cp -a ${target} ${shell.path(backup)} && ${printRecord({ kind: "kept" } satisfies InstallRecord)}; fi`,
        `mv -fT ${pinned(shell, posix.basename(from))} ${target}`,
      ].join("\n"),
    };
  });
}

/** What an install step prints: that the previous version was kept, or the link it refused. */
export const InstallRecord = z.discriminatedUnion("kind", [z.object({ kind: z.literal("kept") }), LinkRecord]);
export type InstallRecord = z.infer<typeof InstallRecord>;

/** One install step's answer: moved (with a backup or not), or not. */
export function parseInstallStep(step: string, run: CommandResult): Parsed<{ moved: boolean; kept: boolean }> {
  const parsed = parseRecords(step, run.stdout, InstallRecord);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { moved: run.exitCode === 0, kept: run.exitCode === 0 && parsed.value.some((r) => r.kind === "kept") } };
}

/** Which files moved (with or without a backup), and the first failure. */
export function installOutcome(shell: ServerShell, staged: StagedFile[], backups: string, runs: StepOutput[]): { installed: Installed[]; error?: GenError } {
  const installed: Installed[] = [];
  for (const [i, { entry }] of staged.entries()) {
    const parsed = parseInstallStep(`moving ${entry.path} into place on ${shell.transport.describe}`, runs[i]!);
    // Output gen cannot read: the file moved, with a backup or not. Restoring from a backup that is not there fails
    // and leaves the file; removing it as new could lose the previous version.
    if (!parsed.ok)
      return { installed: runs[i]!.exitCode === 0 ? [...installed, { path: entry.path, backup: `${backups}${entry.path}` }] : installed, error: parsed.error };
    if (parsed.value.moved) installed.push(parsed.value.kept ? { path: entry.path, backup: `${backups}${entry.path}` } : { path: entry.path });
  }
  const failed = runs.find((run) => !run.skipped && run.exitCode !== 0);
  if (!failed) return { installed };
  return {
    installed,
    error: new GenError(`moving files into place failed on ${shell.transport.describe}`, {
      details: [...refusalLines(outputLines(failed)), ...sudoRefusedHint(shell.sudo, failed)],
    }),
  };
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
