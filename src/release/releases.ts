// The releases on a server: listing them, switching `current` atomically, pruning old ones, restarting.
// Effects: commands through the transport as the deploy user; systemctl through its sudoers rules, nothing else.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import * as z from "zod/mini";
import { GenError } from "../errors.js";
import type { ServerShell } from "../server/server-shell.js";
import { outputLines } from "../server/server-shell.js";
import { JSON_STRING_FUNCTION, oneRecord, orThrow, parseRecords, printServerRecord, type Parsed } from "../transport/step-records.js";
import type { CommandResult, Step } from "../transport/transport.js";
import { migrationsOf, type Migration } from "./migrations.js";
import { runSteps } from "./release-steps.js";

export interface ReleaseInfo {
  id: string;
  live: boolean;
  deployment?: Record<string, unknown>;
  /** The migrations applied when it was deployed (migrations.json), when they were recorded. */
  migrations?: Migration[];
}

const RELEASE_ID = /^\d{8}T\d{6}Z$/;

// One python3 process reads the whole folder (python3 is there: the smoke checks run with it): each release's
// deployment.json and migrations.json as JSON (null when missing or not JSON), and where `current` leads.
// biome-ignore lint/complexity/noUselessStringRaw: Python source, where a backslash added later must stay one
const LIST_SCRIPT = String.raw`
import json, os, re, sys
spec = json.loads(sys.argv[1])
def load(path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
try:
    names = sorted(os.listdir(spec["releases"]))
except (FileNotFoundError, NotADirectoryError):
    names = []
current = os.readlink(spec["current"]) if os.path.islink(spec["current"]) else None
releases = [{"id": n, "deployment": load(os.path.join(spec["releases"], n, spec["publicDir"], "deployment.json")), "migrations": load(os.path.join(spec["releases"], n, "migrations.json"))} for n in names if re.fullmatch(spec["pattern"], n)]
print(json.dumps({"current": current, "releases": releases}))
`;

const LISTING = "listing the releases";

/** The step that reads every release and the live one. */
export function listReleasesStep(shell: ServerShell, env: Environment): Step {
  const spec = {
    releases: shell.raw(env.paths.releases),
    current: shell.raw(env.paths.current),
    publicDir: env.paths.publicDir,
    pattern: RELEASE_ID.source.slice(1, -1),
  };
  return { name: LISTING, script: `python3 -c ${shell.quote(LIST_SCRIPT)} ${shell.quote(JSON.stringify(spec))}` };
}

const ListRecord = z.object({
  current: z.nullable(z.string()),
  releases: z.array(z.object({ id: z.string(), deployment: z.unknown(), migrations: z.unknown() })),
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
      return { id: r.id, live: r.id === live, ...(deployment ? { deployment } : {}), ...(migrations ? { migrations } : {}) };
    });
  return { ok: true, value: releases };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The release a `current` link's target names: its last component. */
function releaseOfLink(target: string): string | undefined {
  return target.replace(/\/+$/, "").split("/").pop() || undefined;
}

export async function listReleases(shell: ServerShell, env: Environment): Promise<ReleaseInfo[]> {
  const [run] = await shell.steps([listReleasesStep(shell, env)]);
  return orThrow(parseReleases(shell.transport.describe, run!));
}

const READING_CURRENT = "reading the live release";

/** The step that reads where `current` leads: a record with its target, or none when it is not a link. */
export function liveReleaseStep(shell: ServerShell, env: Environment): Step {
  const current = shell.path(env.paths.current);
  return {
    name: READING_CURRENT,
    script: [JSON_STRING_FUNCTION, `[ -L ${current} ] || exit 0`, `t=$(readlink -- ${current}) || exit 1`, printServerRecord({}, "target", `"$t"`)].join("\n"),
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
  const [run] = await shell.steps([liveReleaseStep(shell, env)]);
  return orThrow(parseLiveRelease(shell.transport.describe, run!));
}

/** A new link beside `current`, renamed over it: there is never a moment without a live release. */
export function switchCurrentStep(shell: ServerShell, env: Environment, id: string): Step {
  // Relative, so the link means the same under a root prefix as on the server.
  const target = posix.relative(posix.dirname(env.paths.current), `${env.paths.releases}/${id}`);
  const next = `${env.paths.current}.gen-next`;
  return {
    name: `switching ${env.paths.current} to ${id}`,
    script: `ln -sfn ${shell.quote(target)} ${shell.path(next)} && mv -fT ${shell.path(next)} ${shell.path(env.paths.current)}`,
  };
}

export async function switchCurrent(shell: ServerShell, env: Environment, id: string): Promise<void> {
  await runSteps(shell, [switchCurrentStep(shell, env, id)]);
}

export interface RestartOptions {
  celery: boolean;
  /** The host's roles: Gunicorn and nginx on web hosts, Celery on worker hosts. */
  roles: string[];
}

/** The restarts of the release step, each exactly as the sudoers drop-in allows it. */
export function restartCommands(env: Environment, options: RestartOptions): string[][] {
  const systemctl = env.server.systemctl;
  const web = options.roles.includes("web");
  const worker = options.roles.includes("worker") && options.celery;
  return [
    ...(web
      ? [
          [systemctl, "restart", env.gunicorn.service],
          [systemctl, "reload", "nginx"],
        ]
      : []),
    ...(worker
      ? [
          [systemctl, "restart", env.celery.service],
          [systemctl, "restart", env.celery.beat.service],
        ]
      : []),
  ];
}

export async function restartServices(shell: ServerShell, env: Environment, options: RestartOptions, onCommand: (argv: string[]) => void): Promise<void> {
  if (shell.sandbox) {
    const commands = restartCommands(env, options);
    for (const argv of commands) onCommand(argv);
    return shell.sandbox.recordCommands(
      commands.map((argv) => ["sudo", ...argv]),
      "release",
    );
  }
  for (const argv of restartCommands(env, options)) {
    onCommand(argv);
    // Not a step: `sudo -n -- argv` is sent as exactly that command line, as the deploy user's sudoers rules name it.
    orThrow(parseRestart(argv, await shell.transport.run(argv, { sudo: true })));
  }
}

export function parseRestart(argv: string[], result: CommandResult): Parsed<void> {
  if (result.exitCode === 0) return { ok: true, value: undefined };
  return { ok: false, error: new GenError(`\`sudo ${argv.join(" ")}\` failed (exit ${result.exitCode})`, { details: outputLines(result) }) };
}

/**
 * Keeps the newest `keep` finished releases, and never the live one or the finished one before it. A release
 * without deployment.json was never finished (a deploy killed while building it): it is removed and never
 * counts. Returns what goes.
 */
export function releasesToPrune(releases: ReleaseInfo[], keep: number): string[] {
  const finished = releases.filter((r) => r.deployment !== undefined || r.live);
  const ids = finished.map((r) => r.id);
  const liveIndex = finished.findIndex((r) => r.live);
  const protect = new Set([...ids.slice(-keep), ...(liveIndex >= 0 ? ids.slice(Math.max(0, liveIndex - 1), liveIndex + 1) : [])]);
  return releases.map((r) => r.id).filter((id) => !protect.has(id));
}

export function removeReleasesStep(shell: ServerShell, env: Environment, ids: string[]): Step {
  return { name: "removing old releases", script: `rm -rf ${ids.map((id) => shell.path(`${env.paths.releases}/${id}`)).join(" ")}` };
}

/** Prunes to the newest `keep` (releasesToPrune); returns what was deleted. */
export async function pruneReleases(shell: ServerShell, env: Environment, keep: number): Promise<string[]> {
  const doomed = releasesToPrune(await listReleases(shell, env), keep);
  if (doomed.length > 0) await runSteps(shell, [removeReleasesStep(shell, env, doomed)]);
  return doomed;
}

export function releaseIdFor(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

export interface ReleaseLogEntry {
  at: string;
  who: string;
  command: "deploy" | "rollback";
  release: string;
  commit?: string;
  result: "deployed" | "failed" | "rolled-back" | "switched";
  error?: string;
}

/** The server's log of deploys, rollbacks and failed deploys: one JSON line each (the deploy user's folder: the state folder is root's). */
export function releaseLogPath(env: Environment): string {
  return `${env.paths.releases}/releases.log`;
}

export function appendReleaseLogStep(shell: ServerShell, env: Environment, entry: ReleaseLogEntry): Step {
  return { name: "appending to the release log", stdin: `${JSON.stringify(entry)}\n`, script: `cat >> ${shell.path(releaseLogPath(env))}` };
}

/** Throws a GenError with the command's output when the line could not be appended. */
export async function appendReleaseLog(shell: ServerShell, env: Environment, entry: ReleaseLogEntry): Promise<void> {
  await runSteps(shell, [appendReleaseLogStep(shell, env, entry)]);
}

export function readReleaseLogStep(shell: ServerShell, env: Environment): Step {
  const log = shell.path(releaseLogPath(env));
  return { name: "reading the release log", script: `[ -f ${log} ] || exit 0\ncat -- ${log}` };
}

/** The log's entries; a line that is not one (a write cut short) is left out, an unreadable log reads as empty. */
export function parseReleaseLog(run: CommandResult): ReleaseLogEntry[] {
  if (run.exitCode !== 0) return [];
  return run.stdout.split("\n").flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as ReleaseLogEntry] : [];
    } catch {
      return [];
    }
  });
}

export async function readReleaseLog(shell: ServerShell, env: Environment): Promise<ReleaseLogEntry[]> {
  const [run] = await shell.steps([readReleaseLogStep(shell, env)]);
  return parseReleaseLog(run!);
}
