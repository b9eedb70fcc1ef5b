// Moves staged files into place with an atomic rename, keeping the previous version of each as a backup, and
// puts backups back when a later step fails. One server program for all files; it reports each file as it moves,
// so what was done is known file by file even when it stops half-way.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { refusalLines } from "../server/link-safe.js";
import { parseRootFiles, rootFilesStep } from "../server/root-files.js";
import type { StagedFile } from "./stage.js";
import type { StepOutput, TypedStep } from "../transport/typed-steps.js";
import { outputLines, sudoRefusedHint, type ServerShell } from "../server/server-shell.js";

export interface Installed {
  path: string;
  /** Where the previous version was saved; absent when the file is new. */
  backup?: string;
}

export function backupDir(stateDir: string, applyId: string): string {
  return `${stateDir}/backups/${applyId}`;
}

export interface InstallOutcome {
  /** The files that moved (with or without a backup). */
  installed: Installed[];
  /** The failure that stopped the rest. */
  error?: GenError;
}

/** Every staged file in one step, in order: the first that fails stops the rest (and whatever is chained after). */
export function installStep(shell: ServerShell, staged: StagedFile[], backups: string): TypedStep<InstallOutcome> {
  const files = staged.map(({ entry, staged: from }) => ({ path: entry.path, staged: posix.basename(from), backup: `${backups}${entry.path}` }));
  const step = rootFilesStep(shell, "moving the files into place", { op: "install", files });
  return { ...step, parse: (run) => ({ ok: true, value: installOutcome(shell, staged, backups, run) }) };
}

/** Which files moved (with or without a backup), and the failure that stopped the rest. */
function installOutcome(shell: ServerShell, staged: StagedFile[], backups: string, run: StepOutput): InstallOutcome {
  const where = shell.transport.describe;
  const parsed = parseRootFiles(`moving the files into place on ${where}`, run.stdout);
  if (!parsed.ok) {
    // Output gen cannot read: every file may have moved, with a backup or not. Restoring from a backup that is not
    // there fails and leaves the file; removing it as new could lose the previous version.
    return { installed: staged.map(({ entry }) => ({ path: entry.path, backup: `${backups}${entry.path}` })), error: parsed.error };
  }
  const installed: Installed[] = parsed.value.flatMap((record) =>
    record.kind !== "moved" ? [] : [record.kept ? { path: record.path, backup: `${backups}${record.path}` } : { path: record.path }],
  );
  if (run.exitCode === 0) return { installed };
  return {
    installed,
    error: new GenError(`moving files into place failed on ${where} (exit ${run.exitCode})`, {
      // The files it moved are the result, not the failure: only a refused link and the program's own words are shown.
      details: [...refusalLines(outputLines(run).filter((line) => !/^\{"kind":"(moved|restored|removed)"/.test(line))), ...sudoRefusedHint(shell.sudo, run)],
    }),
  };
}
