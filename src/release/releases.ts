// The releases on a server: listing them (with their standing in the release log and the processes that use
// them), switching `current` atomically, pruning old ones, restarting.
// Effects: commands through the transport as the deploy user; systemctl through its sudoers rules, nothing else.
import { appUnits, restartOrder, workerUnits } from "../render/unit-relations.js";
import { visibleText } from "../server/server-text.js";
import { readRoot, safeReadFunctions } from "../server/safe-read.js";
import {
  type CommandContext,
  describeCommand,
  fromRestartOrder,
  type ServiceCommand,
  serviceCommandScript,
  systemctlArgv,
} from "../server/service-commands.js";
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import * as z from "zod/mini";
import { GenError } from "../errors.js";
import { outputLines, statusStep, type ServerShell } from "../server/server-shell.js";
import { jsonStringFunction, oneRecord, orThrow, parseRecords, printServerRecord, type Parsed } from "../transport/step-records.js";
import type { CommandResult } from "../transport/transport.js";
import { chainEach, combine, runStep, SKIPPED, type Skipped, type StepGroup, type TypedStep } from "../transport/typed-steps.js";
import { migrationsOf, type Migration } from "./migrations.js";
import {
  ERROR_CHARS,
  judgements,
  parseReleaseLogText,
  previousGoodRelease,
  RELEASE_ID,
  releaseStatus,
  type ReleaseLogEntry,
  type ReleaseStatus,
} from "./release-history.js";
import { programText } from "../program-text.js";

export type { ReleaseLogEntry, ReleaseStatus } from "./release-history.js";

export interface ReleaseInfo {
  id: string;
  live: boolean;
  deployment?: Record<string, unknown>;
  /** The migrations applied when it was deployed (migrations.json), when they were recorded. */
  migrations?: Migration[];
  /** Its standing (release-history.ts): before the log is read (parseReleases), only finished or unfinished. */
  status: ReleaseStatus;
  /** Processes whose working folder or executable is inside it (those the release user may look at). */
  inUse: number[];
  /** The record of the release log that judged it last (release-history.ts). */
  lastRecord?: ReleaseLogEntry;
  /** Who deployed it, from its first deploy record. */
  deployedBy?: string;
}

/** A folder name gen gives a release (UTC time): anything else under paths.releases is not one. */
export const isReleaseId = (id: string): boolean => RELEASE_ID.test(id);

const LISTING = "listing the releases";

/** deployment.json and migrations.json are read up to this size: what gen writes is far smaller. */
export const RELEASE_FILE_LIMIT = 1024 * 1024;

/**
 * The step that reads every release and the live one: list_releases.py beside this module, one python3 process for
 * the whole folder (python3 is there: the smoke checks run with it). Its value: the releases, oldest first, the live
 * one marked.
 */
export function listReleasesStep(shell: ServerShell, env: Environment): TypedStep<ReleaseInfo[]> {
  const spec = {
    releases: shell.raw(env.paths.releases),
    current: shell.raw(env.paths.current),
    publicDir: env.paths.publicDir,
    pattern: RELEASE_ID.source.slice(1, -1),
    limit: RELEASE_FILE_LIMIT,
  };
  return {
    name: LISTING,
    script: `python3 -c ${shell.quote(programText(import.meta.url, "./list_releases.py"))} ${shell.quote(JSON.stringify(spec))}`,
    parse: (run) => parseReleases(shell.transport.describe, run),
  };
}

const ListRecord = z.object({
  current: z.nullable(z.string()),
  releases: z.array(z.object({ id: z.string(), deployment: z.unknown(), migrations: z.unknown(), inUse: z.array(z.string()) })),
});

/** The releases, oldest first, the live one marked; an error value when the listing failed or printed something else. */
export function parseReleases(where: string, run: CommandResult): Parsed<ReleaseInfo[]> {
  if (run.exitCode !== 0) {
    const hint = run.exitCode === 127 ? ["python3 is not installed on the server: apt-get install python3"] : [];
    return { ok: false, error: new GenError(`${LISTING} failed on ${where} (exit ${run.exitCode})`, { details: [...hint, ...outputLines(run).slice(-10)] }) };
  }
  const parsed = oneRecord(`${LISTING} on ${where}`, run, ListRecord);
  if (!parsed.ok) return parsed;
  const live = parsed.value.current === null ? undefined : releaseOfLink(parsed.value.current);
  const releases = parsed.value.releases
    .filter((r) => RELEASE_ID.test(r.id))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r): ReleaseInfo => {
      const deployment = isRecord(r.deployment) ? r.deployment : undefined;
      const migrations = migrationsOf(r.migrations);
      return {
        id: r.id,
        live: r.id === live,
        ...(deployment ? { deployment } : {}),
        ...(migrations ? { migrations } : {}),
        status: releaseStatus(deployment !== undefined, undefined),
        inUse: r.inUse.map(Number).filter((pid) => Number.isInteger(pid) && pid > 0),
      };
    });
  return { ok: true, value: releases };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The release a `current` link's target names: its last component. */
function releaseOfLink(target: string): string | undefined {
  return target.replace(/\/+$/, "").split("/").pop() || undefined;
}

/** The releases with their standing in the release log: the folder and the log read in one round trip. */
export async function listReleases(shell: ServerShell, env: Environment): Promise<ReleaseInfo[]> {
  return runStep(shell, releasesWithLogSteps(shell, env));
}

/** The folder and the log read together, as listReleases reads them: a part of a larger round trip. */
export function releasesWithLogSteps(shell: ServerShell, env: Environment): StepGroup<ReleaseInfo[]> {
  return combine([listReleasesStep(shell, env), readReleaseLogStep(shell, env)], ([releases, log]) => ({ ok: true, value: withReleaseLog(releases, log) }));
}

/** Each release's status by the rule of release-history.ts, its last record and who deployed it. */
export function withReleaseLog(releases: ReleaseInfo[], log: ReleaseLogEntry[]): ReleaseInfo[] {
  const judged = judgements(log);
  return releases.map((r) => {
    const judgement = judged.get(r.id);
    const by = log.find((e) => e.command === "deploy" && e.release === r.id)?.who;
    return {
      ...r,
      status: releaseStatus(r.deployment !== undefined, judgement),
      ...(judgement ? { lastRecord: judgement.record } : {}),
      ...(by ? { deployedBy: by } : {}),
    };
  });
}

const READING_CURRENT = "reading the live release";

/** The step that reads where `current` leads: the release it names, or none when it is not a link. */
export function liveReleaseStep(shell: ServerShell, env: Environment): TypedStep<string | undefined> {
  const current = shell.path(env.paths.current);
  return {
    name: READING_CURRENT,
    script: [jsonStringFunction(), `[ -L ${current} ] || exit 0`, `t=$(readlink -- ${current}) || exit 1`, printServerRecord({}, "target", `"$t"`)].join("\n"),
    parse: (run) => parseLiveRelease(shell.transport.describe, run),
  };
}

export function parseLiveRelease(where: string, run: CommandResult): Parsed<string | undefined> {
  const step = `${READING_CURRENT} on ${where}`;
  if (run.exitCode !== 0) return { ok: false, error: new GenError(`${step} failed (exit ${run.exitCode})`, { details: outputLines(run) }) };
  const parsed = parseRecords(step, run.stdout, z.object({ target: z.string() }));
  if (!parsed.ok) return parsed;
  const target = parsed.value[0]?.target;
  return { ok: true, value: target === undefined ? undefined : releaseOfLink(target) };
}

export async function liveRelease(shell: ServerShell, env: Environment): Promise<string | undefined> {
  return runStep(shell, liveReleaseStep(shell, env));
}

/** A new link beside `current`, renamed over it: there is never a moment without a live release. */
export function switchCurrentStep(shell: ServerShell, env: Environment, id: string): TypedStep<void> {
  // Relative, so the link means the same under a root prefix as on the server.
  const target = posix.relative(posix.dirname(env.paths.current), `${env.paths.releases}/${id}`);
  const next = `${env.paths.current}.gen-next`;
  return statusStep(
    shell,
    `switching ${env.paths.current} to ${id}`,
    `ln -sfn ${shell.quote(target)} ${shell.path(next)} && mv -fT ${shell.path(next)} ${shell.path(env.paths.current)}`,
  );
}

export async function switchCurrent(shell: ServerShell, env: Environment, id: string): Promise<void> {
  await runStep(shell, switchCurrentStep(shell, env, id));
}

export interface RestartOptions {
  celery: boolean;
  /** The host's roles: Gunicorn and nginx on web hosts, Celery on worker hosts. */
  roles: string[];
}

/**
 * The restarts of the release step, each exactly as the sudoers drop-in allows it: Gunicorn through its handover
 * (service-commands.ts), nginx reloaded, the worker restarted and beat then only started, since systemd restarts it
 * with the worker it requires (restartOrder).
 */
export function restartCommands(env: Environment, options: RestartOptions): ServiceCommand[] {
  const units = appUnits(env);
  const web = options.roles.includes("web");
  const worker = options.roles.includes("worker") && options.celery;
  // A release is live (the step switched to it), so nothing waits for one.
  const order = (wanted: string[]) => fromRestartOrder(restartOrder(wanted, env)).map(({ release: _, ...command }) => command);
  return [...(web ? [...order([units.gunicorn]), { verb: "reload" as const, unit: "nginx.service" }] : []), ...(worker ? order(workerUnits(env)) : [])];
}

/**
 * Runs the restarts in one round trip, chained; `onCommand` gets each one that ran, as shown to the operator, and
 * whether the host only recorded it (a folder standing in for a server).
 */
export async function restartServices(
  shell: ServerShell,
  env: Environment,
  options: RestartOptions,
  onCommand: (shown: string, recorded: boolean) => void,
): Promise<void> {
  readRestarts(await runStep(shell, restartSteps(shell, env, options)), onCommand);
}

export type Restarted = { shown: string; recorded: boolean; outcome: Parsed<void> } | Skipped;

/** The restarts as one chain, each run only when the one before succeeded: a part of a larger round trip. */
export function restartSteps(shell: ServerShell, env: Environment, options: RestartOptions): StepGroup<Restarted[]> {
  const context = { env, sudo: true, path: shell.path };
  return chainEach(restartCommands(env, options).map((command) => restartStep(context, command)));
}

/** Each restart that ran, to `onCommand`; throws the first that failed (with its unit's journal). */
export function readRestarts(restarts: Restarted[], onCommand: (shown: string, recorded: boolean) => void): void {
  for (const restarted of restarts) {
    if (restarted === SKIPPED) break;
    onCommand(restarted.shown, restarted.recorded);
    orThrow(restarted.outcome);
  }
}

/**
 * A restart as a step: how it is shown, and whether it failed (with the unit's journal). A host standing in for a
 * server records the systemctl command line as sudo would run it.
 */
function restartStep(context: CommandContext, command: ServiceCommand): TypedStep<Exclude<Restarted, Skipped>> {
  const shown = describeCommand(context, command);
  const argv = systemctlArgv(context, command.verb, command.unit).filter((a) => a !== "-n" && a !== "--");
  return {
    name: shown,
    script: serviceCommandScript(context, command),
    serverOnly: { record: { argv, why: "release" } },
    parse: (run) => ({ ok: true, value: { shown, recorded: run.notRun, outcome: parseRestart(shown, run) } }),
  };
}

export function parseRestart(shown: string, result: CommandResult): Parsed<void> {
  if (result.exitCode === 0) return { ok: true, value: undefined };
  // The output carries the unit's journal (systemctl status): the application's words, shown escaped and bounded.
  return {
    ok: false,
    error: new GenError(`\`sudo ${shown}\` failed (exit ${result.exitCode})`, { details: outputLines(result).slice(-30).map(visibleText) }),
  };
}

/** The newest good release before the live one: what `gen rollback` goes to, and what pruning always keeps. */
export function previousRelease(releases: ReleaseInfo[]) {
  return previousGoodRelease(releases, releases.find((r) => r.live)?.id);
}

/**
 * What pruning removes. It keeps the live release, the newest good release before it (previousRelease), every
 * release a process still uses, and the newest `keep` finished releases whatever their status (a release switched
 * back is kept a while to look into). A release without deployment.json was never finished (a deploy killed while
 * building it): it is removed unless live or in use, and never counts toward `keep`.
 */
export function releasesToPrune(releases: ReleaseInfo[], keep: number): string[] {
  const finished = releases.filter((r) => r.status !== "unfinished" || r.live);
  const previous = previousRelease(releases).id;
  const protect = new Set([
    ...finished.slice(-keep).map((r) => r.id),
    ...releases.filter((r) => r.live || r.inUse.length > 0 || r.id === previous).map((r) => r.id),
  ]);
  return releases.map((r) => r.id).filter((id) => !protect.has(id));
}

export interface PruneResult {
  removed: string[];
  /** Releases past `keep` kept because processes still use them. */
  keptInUse: { id: string; pids: number[] }[];
  /** The newest good release before the live one (kept). */
  previous?: string;
}

/** What pruning removes and why it keeps more than `keep`: releasesToPrune with its reasons. */
export function planPrune(releases: ReleaseInfo[], keep: number): PruneResult {
  const removed = releasesToPrune(releases, keep);
  const withoutUse = releasesToPrune(
    releases.map((r) => ({ ...r, inUse: [] })),
    keep,
  );
  const keptInUse = releases.filter((r) => withoutUse.includes(r.id) && !removed.includes(r.id)).map((r) => ({ id: r.id, pids: r.inUse }));
  const previous = previousRelease(releases).id;
  return { removed, keptInUse, ...(previous ? { previous } : {}) };
}

export function removeReleasesStep(shell: ServerShell, env: Environment, ids: string[]): TypedStep<void> {
  return statusStep(shell, "removing old releases", `rm -rf ${ids.map((id) => shell.path(`${env.paths.releases}/${id}`)).join(" ")}`);
}

/** Prunes to the newest `keep` (releasesToPrune); returns what was deleted, what was kept for its processes. */
export async function pruneReleases(shell: ServerShell, env: Environment, keep: number): Promise<PruneResult> {
  const plan = planPrune(await listReleases(shell, env), keep);
  if (plan.removed.length > 0) await runStep(shell, removeReleasesStep(shell, env, plan.removed));
  return plan;
}

export function releaseIdFor(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** The server's log of deploys, rollbacks and failed deploys: one JSON line each (the deploy user's folder: the state folder is root's). */
export function releaseLogPath(env: Environment): string {
  return `${env.paths.releases}/releases.log`;
}

export function appendReleaseLogStep(shell: ServerShell, env: Environment, entry: ReleaseLogEntry): TypedStep<void> {
  // The error is cut so that the line stays one that parseReleaseLog reads (release-history.ts, LOG_LINE_CHARS).
  const line = entry.error === undefined ? entry : { ...entry, error: entry.error.slice(0, ERROR_CHARS) };
  // The folder is the deploy user's (and the application's): dd opens the log without following a link or waiting on
  // a FIFO planted there, where `cat >>` would hang the command with its lock held.
  return statusStep(
    shell,
    "appending to the release log",
    `exec dd of=${shell.path(releaseLogPath(env))} oflag=append,nofollow,nonblock conv=notrunc status=none`,
    `${JSON.stringify(line)}\n`,
  );
}

/** Throws a GenError with the command's output when the line could not be appended. */
export async function appendReleaseLog(shell: ServerShell, env: Environment, entry: ReleaseLogEntry): Promise<void> {
  await runStep(shell, appendReleaseLogStep(shell, env, entry));
}

/** The log's last MiB is read: thousands of records, far more than the releases kept. */
export const LOG_TAIL_BYTES = 1024 * 1024;

export function readReleaseLogStep(shell: ServerShell, env: Environment): TypedStep<ReleaseLogEntry[]> {
  const log = releaseLogPath(env);
  // A regular file only, opened without following a link or blocking (a FIFO put there would hang); its end only.
  const read = `gen_read ${shell.quote(readRoot(shell.transport.root))} ${shell.quote(posix.dirname(log))} ${shell.quote(posix.basename(log))} ${LOG_TAIL_BYTES} tail`;
  return { name: "reading the release log", script: `${safeReadFunctions()}\n${read}`, parse: (run) => ({ ok: true, value: parseReleaseLog(run) }) };
}

/**
 * The log's records (release-history.ts checks each line); a line that is not one (a write cut short, the first
 * line of a tail, junk) is left out, and an unreadable log reads as empty: every release is then unrecorded.
 */
export function parseReleaseLog(run: CommandResult): ReleaseLogEntry[] {
  if (run.exitCode !== 0) return [];
  return parseReleaseLogText(run.stdout);
}

export async function readReleaseLog(shell: ServerShell, env: Environment): Promise<ReleaseLogEntry[]> {
  return runStep(shell, readReleaseLogStep(shell, env));
}
