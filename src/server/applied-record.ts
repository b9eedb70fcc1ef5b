// What apply leaves on the server besides the files: the record of what it last applied (the diff uses it to
// spot hand edits), an append-only apply log, and pruned backups. Also the clean-up of an interrupted apply.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { lockDir } from "./lock.js";
import * as z from "zod/mini";
import { jsonStringFunction, parseRecords, printServerRecord, type Parsed } from "../transport/step-records.js";
import { runStep, type StepOutput, type TypedStep } from "../transport/typed-steps.js";
import type { CommandResult } from "../transport/transport.js";
import type { StageFile } from "./root-files.js";
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

/** What an apply that succeeds leaves: its record (JSON text) and its line of the apply log. */
export interface AppliedRecord {
  record: string;
  logLine: string;
}

export function appliedRecord(
  /** Each file as the plan has it: its path and the hash gen puts there. */
  entries: { path: string; desired: { sha256: string } }[],
  previous: Record<string, string> | undefined,
  log: ApplyLogEntry,
): AppliedRecord {
  const files = { ...(previous ?? {}), ...Object.fromEntries(entries.map((e) => [e.path, e.desired.sha256])) };
  return { record: `${JSON.stringify({ files, lastApply: log.id, by: log.who, at: log.at }, null, 2)}\n`, logLine: JSON.stringify(log) };
}

/** Where the staging program writes the record and the log line, in this apply's incoming folder (root's, private). */
function stagedRecordPaths(incoming: string): { record: string; logLine: string } {
  return { record: `${incoming}/applied.json`, logLine: `${incoming}/apply.log.line` };
}

/**
 * The record and the log line as files for the staging program to write into this apply's `incoming` folder with the
 * staged files (recordStep then moves the one and appends the other): the record step stays a few lines whatever the
 * number of files, read by the session's shell itself instead of through a `head` process.
 */
export function stagedRecordFiles(incoming: string, data: AppliedRecord): StageFile[] {
  const at = stagedRecordPaths(incoming);
  const file = (path: string, content: string): StageFile => ({ path, staged: posix.basename(path), mode: "0600", owner: "root", group: "root", content });
  return [file(at.record, data.record), file(at.logLine, `${data.logLine}\n`)];
}

/**
 * Writes the record (atomically: a rename) and appends the log line; `stagedIn`: the incoming folder the staging
 * program wrote them into (stagedRecordFiles), or undefined when nothing was staged (they travel in the script).
 */
export function recordStep(shell: ServerShell, stateDir: string, data: AppliedRecord, stagedIn?: string): TypedStep<void> {
  const target = shell.path(appliedRecordPath(stateDir));
  const log = shell.path(applyLogPath(stateDir));
  if (stagedIn !== undefined) {
    const at = stagedRecordPaths(stagedIn);
    // The shell's own read takes the line: no process.
    const script = ["set -e", `mv -fT ${shell.path(at.record)} ${target}`, `IFS= read -r line < ${shell.path(at.logLine)}`, `printf '%s\\n' "$line" >> ${log}`];
    return statusStep(shell, "recording the apply", script.join("\n"));
  }
  const next = shell.path(`${appliedRecordPath(stateDir)}.new`);
  // Written by the shell itself, 0600 (umask), in place of `install` reading it from the step's input: two processes
  // fewer. noclobber creates the file only if it is not there (a link included): an interrupted apply's leftover .new
  // is removed first.
  const script = [
    "set -e",
    "umask 077",
    `record=${shell.quote(data.record)}`,
    `set -C; printf '%s' "$record" 2>/dev/null > ${next} || { rm -f -- ${next}; printf '%s' "$record" > ${next}; }; set +C`,
    `mv -fT ${next} ${target}`,
    `printf '%s\\n' ${shell.quote(data.logLine)} >> ${log}`,
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
 * Sets the positional parameters ("$@") to the backups beyond the newest `keep` applies' (their folders are named by
 * apply id, which sorts by time), oldest first: the shell's own sorted glob lists them, and the clean-up's one `rm`
 * removes them.
 */
export function oldBackupsScript(shell: ServerShell, stateDir: string, keep: number): string {
  const dir = shell.path(`${stateDir}/backups`);
  return [
    `set -- ${dir}/*`,
    '[ -e "$1" ] || [ -L "$1" ] || set --',
    // The first $# - keep are appended after the list, which then goes.
    `all=$#; left=$#; for backup do [ "$left" -le ${keep} ] || set -- "$@" "$backup"; left=$((left - 1)); done; shift "$all"`,
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

/**
 * The end of every apply, whatever happened: the scratch folders and the lock go, in one `rm`, the lock last. With
 * `keepBackups` (the end of an apply that succeeded), the backups beyond the newest `keepBackups` applies' go with them.
 * Its value: whether they went.
 */
export function cleanUpStep(shell: ServerShell, stateDir: string, workDirs: string[], keepBackups?: number): TypedStep<GenError | undefined> {
  const removed = [...workDirs, lockDir(stateDir)].map((d) => shell.path(d)).join(" ");
  return {
    name: "cleaning up and releasing the lock",
    script: keepBackups === undefined ? `exec rm -rf ${removed}` : `${oldBackupsScript(shell, stateDir, keepBackups)}\nexec rm -rf -- "$@" ${removed}`,
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
