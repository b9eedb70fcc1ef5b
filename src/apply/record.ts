// What apply leaves on the server besides the files: the record of what it last applied (the diff uses it to
// spot hand edits), an append-only apply log, and pruned backups. Also the clean-up of an interrupted apply.
import { posix } from "node:path";
import { appliedRecordPath } from "../plan/server-state.js";
import type { PlanEntry } from "../plan/plan-types.js";
import { lockDir } from "./lock.js";
import type { ServerShell } from "./server-shell.js";

export interface ApplyLogEntry {
  id: string;
  who: string;
  at: string;
  host: string;
  outcome: "applied" | "failed";
  files: { path: string; old?: string; new: string }[];
  restored: string[];
  error?: string;
}

/** Writes the record and the log line, and prunes backups beyond the newest `keepBackups` applies. */
export async function writeRecord(shell: ServerShell, stateDir: string, incoming: string, entries: PlanEntry[], previous: Record<string, string> | undefined, log: ApplyLogEntry, keepBackups: number): Promise<void> {
  const files = { ...(previous ?? {}), ...Object.fromEntries(entries.map((e) => [e.path, e.desired.sha256])) };
  const record = `${JSON.stringify({ files, lastApply: log.id, by: log.who, at: log.at }, null, 2)}\n`;
  await shell.transport.writeFile(`${incoming}/applied.json`, record, "0600");
  const target = appliedRecordPath(stateDir);
  await shell.must(
    "recording the apply",
    [
      `install -m 0600 ${shell.path(`${incoming}/applied.json`)} ${shell.path(`${target}.new`)}`,
      `mv -fT ${shell.path(`${target}.new`)} ${shell.path(target)}`,
      `printf '%s\\n' ${shell.quote(JSON.stringify(log))} >> ${shell.path(`${stateDir}/apply.log`)}`,
      pruneBackupsScript(shell, stateDir, keepBackups),
    ].join("\n"),
  );
}

export async function appendLog(shell: ServerShell, stateDir: string, log: ApplyLogEntry): Promise<void> {
  await shell.script(`printf '%s\\n' ${shell.quote(JSON.stringify(log))} >> ${shell.path(`${stateDir}/apply.log`)}`, "writing the apply log");
}

function pruneBackupsScript(shell: ServerShell, stateDir: string, keep: number): string {
  const dir = shell.path(`${stateDir}/backups`);
  return `if [ -d ${dir} ]; then (cd ${dir} && ls -1 | sort -r | tail -n +${keep + 1} | while IFS= read -r old; do rm -rf -- "$old"; done); fi`;
}

/** Removes what an interrupted apply left behind (upload and check folders, staged files); returns what it removed. */
export async function removeLeftovers(shell: ServerShell, stateDir: string, managedPaths: string[]): Promise<string[]> {
  const dirs = [...new Set(managedPaths.map((p) => posix.dirname(p)))];
  const state = shell.path(stateDir);
  const script = [
    `for d in ${state}/incoming-* ${state}/verify-*; do [ -e "$d" ] && rm -rf -- "$d" && echo "LEFTOVER $d"; done`,
    ...dirs.map((d) => `for f in ${shell.path(d)}/.gen-stage.* ${shell.path(d)}/.gen-restore.*; do { [ -e "$f" ] || [ -L "$f" ]; } && rm -f -- "$f" && echo "LEFTOVER $f"; done`),
    "true",
  ].join("\n");
  const result = await shell.script(script, "removing the leftovers of an interrupted apply");
  return result.stdout.split("\n").filter((l) => l.startsWith("LEFTOVER ")).map((l) => l.slice(9));
}

/** The end of every apply, whatever happened: the upload folder and the lock go, in one round trip. */
export async function cleanUpAndUnlock(shell: ServerShell, stateDir: string, workDirs: string[]): Promise<void> {
  await shell.script(`rm -rf ${[...workDirs, lockDir(stateDir)].map((d) => shell.path(d)).join(" ")}`, "cleaning up and releasing the lock");
}
