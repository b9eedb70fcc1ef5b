// What apply leaves on the server besides the files: the record of what it last applied (the diff uses it to
// spot hand edits), an append-only apply log, and pruned backups. Also the clean-up of an interrupted apply.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { lockDir } from "./lock.js";
import * as z from "zod/mini";
import { jsonStringFunction, parseRecords, printServerRecord, type Parsed } from "../transport/step-records.js";
import { runStep, type StepOutput, type TypedStep } from "../transport/typed-steps.js";
import type { CommandResult } from "../transport/transport.js";
import { outputLines, statusStep, sudoRefusedHint, type ServerShell } from "./server-shell.js";

/** Where apply records what it applied last (the plan reads it to spot hand edits). */
export function appliedRecordPath(stateDir: string): string {
  return `${stateDir}/applied.json`;
}

export interface ApplyLogEntry {
  id: string;
  who: string;
  at: string;
  host: string;
  outcome: "applied" | "failed" | "interrupted";
  files: { path: string; old?: string; new: string }[];
  restored: string[];
  error?: string;
}

/** Writes the record and the log line, and prunes backups beyond the newest `keepBackups` applies. */
export function recordStep(
  shell: ServerShell,
  stateDir: string,
  /** Each file as the plan has it: its path and the hash gen puts there. */
  entries: { path: string; desired: { sha256: string } }[],
  previous: Record<string, string> | undefined,
  log: ApplyLogEntry,
  keepBackups: number,
): TypedStep<void> {
  const files = { ...(previous ?? {}), ...Object.fromEntries(entries.map((e) => [e.path, e.desired.sha256])) };
  const record = `${JSON.stringify({ files, lastApply: log.id, by: log.who, at: log.at }, null, 2)}\n`;
  const target = appliedRecordPath(stateDir);
  const next = shell.path(`${target}.new`);
  // Written by the shell itself, 0600 (umask), in place of `install` reading it from the step's input: two processes
  // fewer. noclobber creates the file only if it is not there (a link included): an interrupted apply's leftover .new
  // is removed first.
  const script = [
    "set -e",
    "umask 077",
    `record=${shell.quote(record)}`,
    `set -C; printf '%s' "$record" 2>/dev/null > ${next} || { rm -f -- ${next}; printf '%s' "$record" > ${next}; }; set +C`,
    `mv -fT ${next} ${shell.path(target)}`,
    `printf '%s\\n' ${shell.quote(JSON.stringify(log))} >> ${shell.path(`${stateDir}/apply.log`)}`,
    pruneBackupsScript(shell, stateDir, keepBackups),
  ].join("\n");
  return statusStep(shell, "recording the apply", script);
}

export function applyLogPath(stateDir: string): string {
  return `${stateDir}/apply.log`;
}

/** Throws a GenError with the command's output when the line could not be appended. */
export async function appendLog(shell: ServerShell, stateDir: string, log: ApplyLogEntry): Promise<void> {
  await runStep(
    shell,
    statusStep(shell, "writing the apply log", `printf '%s\\n' ${shell.quote(JSON.stringify(log))} >> ${shell.path(applyLogPath(stateDir))}`),
  );
}

/**
 * Keeps the newest `keep` applies' backups (their folders are named by apply id, which sorts by time). The shell's
 * own sorted glob lists them: a process only for each folder removed.
 */
export function pruneBackupsScript(shell: ServerShell, stateDir: string, keep: number): string {
  const dir = shell.path(`${stateDir}/backups`);
  return [
    `if [ -d ${dir} ]; then`,
    `  set -- ${dir}/*`,
    `  if [ -e "$1" ] && [ $# -gt ${keep} ]; then old=$(($# - ${keep})); for backup do [ "$old" -gt 0 ] && rm -rf -- "$backup"; old=$((old - 1)); done; fi`,
    "fi",
  ].join("\n");
}

/** Removes what an interrupted apply left behind (upload and check folders, staged files); its value: what it removed. */
export function leftoversStep(shell: ServerShell, stateDir: string, managedPaths: string[]): TypedStep<string[]> {
  const dirs = [...new Set(managedPaths.map((p) => posix.dirname(p)))];
  const state = shell.path(stateDir);
  const removed = (word: string) => printServerRecord({ kind: "removed" }, "path", word);
  const script = [
    jsonStringFunction(),
    `for d in ${state}/incoming-* ${state}/verify-*; do [ -e "$d" ] && rm -rf -- "$d" && ${removed(`"$d"`)}; done`,
    ...dirs.map(
      (d) =>
        `for f in ${shell.path(d)}/.gen-stage.* ${shell.path(d)}/.gen-restore.*; do { [ -e "$f" ] || [ -L "$f" ]; } && rm -f -- "$f" && ${removed(`"$f"`)}; done`,
    ),
    "true",
  ].join("\n");
  return { name: LEFTOVERS, script, parse: parseLeftoversStep };
}

const LEFTOVERS = "removing the leftovers of an interrupted apply";
const Removed = z.object({ kind: z.literal("removed"), path: z.string() });

/** What the leftovers step removed (paths as the server's commands see them). */
export function parseLeftoversStep(run: CommandResult): Parsed<string[]> {
  if (run.exitCode !== 0) return { ok: false, error: new GenError(`${LEFTOVERS} failed (exit ${run.exitCode})`, { details: outputLines(run) }) };
  const parsed = parseRecords(LEFTOVERS, run.stdout, Removed);
  return parsed.ok ? { ok: true, value: parsed.value.map((r) => r.path) } : parsed;
}

/** The end of every apply, whatever happened: the scratch folders and the lock go. Its value: whether they went. */
export function cleanUpStep(shell: ServerShell, stateDir: string, workDirs: string[]): TypedStep<GenError | undefined> {
  return {
    name: "cleaning up and releasing the lock",
    script: `exec rm -rf ${[...workDirs, lockDir(stateDir)].map((d) => shell.path(d)).join(" ")}`,
    parse: (run) => ({ ok: true, value: cleanUpFailure(shell, run) }),
  };
}

/** Throws a GenError with the command's output when the clean-up failed (the lock may still be there). */
export async function cleanUpAndUnlock(shell: ServerShell, stateDir: string, workDirs: string[]): Promise<void> {
  const failure = await runStep(shell, cleanUpStep(shell, stateDir, workDirs));
  if (failure) throw failure;
}

function cleanUpFailure(shell: ServerShell, run: StepOutput): GenError | undefined {
  if (run.exitCode === 0) return undefined;
  return new GenError(`cleaning up and releasing the lock failed on ${shell.transport.describe} (exit ${run.exitCode})`, {
    details: [...outputLines(run), ...sudoRefusedHint(shell.sudo, run)],
  });
}
