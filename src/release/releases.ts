// The releases on a server: listing them, switching `current` atomically, pruning old ones, restarting.
// Effects: commands through the transport as the deploy user; systemctl through its sudoers rules, nothing else.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import type { ServerShell } from "../server/server-shell.js";
import { outputLines } from "../server/server-shell.js";
import { readMigrations, type Migration } from "./migrations.js";

export interface ReleaseInfo {
  id: string;
  live: boolean;
  deployment?: Record<string, unknown>;
  /** The migrations applied when it was deployed (migrations.json), when they were recorded. */
  migrations?: Migration[];
}

export async function listReleases(shell: ServerShell, env: Environment): Promise<ReleaseInfo[]> {
  const names = (await shell.transport.list(env.paths.releases)).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort();
  const live = await liveRelease(shell, env);
  return Promise.all(
    names.map(async (id) => {
      const read = await shell.transport.readFile(`${env.paths.releases}/${id}/${env.paths.publicDir}/deployment.json`);
      let deployment: Record<string, unknown> | undefined;
      if (read.status === "ok") {
        try {
          deployment = JSON.parse(read.file.content.toString("utf8")) as Record<string, unknown>;
        } catch {
          deployment = undefined;
        }
      }
      const migrations = await readMigrations(shell, env, id);
      return { id, live: id === live, ...(deployment ? { deployment } : {}), ...(migrations ? { migrations } : {}) };
    }),
  );
}

export async function liveRelease(shell: ServerShell, env: Environment): Promise<string | undefined> {
  const stat = await shell.transport.stat(env.paths.current);
  if (stat?.type !== "symlink" || !stat.linkTarget) return undefined;
  return stat.linkTarget.replace(/\/+$/, "").split("/").pop();
}

/** A new link beside `current`, renamed over it: there is never a moment without a live release. */
export async function switchCurrent(shell: ServerShell, env: Environment, id: string): Promise<void> {
  // Relative, so the link means the same under a root prefix as on the server.
  const target = posix.relative(posix.dirname(env.paths.current), `${env.paths.releases}/${id}`);
  const next = `${env.paths.current}.gen-next`;
  await shell.must(`switching ${env.paths.current} to ${id}`, `ln -sfn ${shell.quote(target)} ${shell.path(next)} && mv -fT ${shell.path(next)} ${shell.path(env.paths.current)}`);
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
    ...(web ? [[systemctl, "restart", env.gunicorn.service], [systemctl, "reload", "nginx"]] : []),
    ...(worker ? [[systemctl, "restart", env.celery.service], [systemctl, "restart", env.celery.beat.service]] : []),
  ];
}

export async function restartServices(shell: ServerShell, env: Environment, options: RestartOptions, onCommand: (argv: string[]) => void): Promise<void> {
  if (shell.sandbox) {
    const commands = restartCommands(env, options);
    for (const argv of commands) onCommand(argv);
    return shell.sandbox.recordCommands(commands.map((argv) => ["sudo", ...argv]), "release");
  }
  for (const argv of restartCommands(env, options)) {
    onCommand(argv);
    const result = await shell.transport.run(argv, { sudo: true });
    if (result.exitCode !== 0) throw new GenError(`\`sudo ${argv.join(" ")}\` failed (exit ${result.exitCode})`, { details: outputLines(result) });
  }
}

/**
 * Keeps the newest `keep` finished releases, and never the live one or the finished one before it. A release
 * without deployment.json was never finished (a deploy killed while building it): it is removed and never
 * counts. Returns what was deleted.
 */
export async function pruneReleases(shell: ServerShell, env: Environment, keep: number): Promise<string[]> {
  const releases = await listReleases(shell, env);
  const finished = releases.filter((r) => r.deployment !== undefined || r.live);
  const ids = finished.map((r) => r.id);
  const liveIndex = finished.findIndex((r) => r.live);
  const protect = new Set([...ids.slice(-keep), ...(liveIndex >= 0 ? ids.slice(Math.max(0, liveIndex - 1), liveIndex + 1) : [])]);
  const doomed = releases.map((r) => r.id).filter((id) => !protect.has(id));
  if (doomed.length > 0) await shell.must("removing old releases", `rm -rf ${doomed.map((id) => shell.path(`${env.paths.releases}/${id}`)).join(" ")}`);
  return doomed;
}

export function releaseIdFor(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
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

/** Throws a GenError with the command's output when the line could not be appended. */
export async function appendReleaseLog(shell: ServerShell, env: Environment, entry: ReleaseLogEntry): Promise<void> {
  await shell.must("appending to the release log", `printf '%s\\n' ${shell.quote(JSON.stringify(entry))} >> ${shell.path(releaseLogPath(env))}`);
}

export async function readReleaseLog(shell: ServerShell, env: Environment): Promise<ReleaseLogEntry[]> {
  const read = await shell.transport.readFile(releaseLogPath(env));
  if (read.status !== "ok") return [];
  return read.file.content.toString("utf8").split("\n").flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as ReleaseLogEntry] : [];
    } catch {
      return [];
    }
  });
}
