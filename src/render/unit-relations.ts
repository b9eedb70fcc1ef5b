// gen's systemd units and how they relate: which unit Requires= which (the unit templates render their Requires=
// lines from here, so the restart plan and the files cannot disagree), which run inside a release, and which start
// on demand through their socket. Pure.
import type { Environment } from "../../schema/index.js";

/** gen's units by what they run; the worker and beat only when the environment has them. */
export function appUnits(env: Environment) {
  return {
    socket: `${env.gunicorn.service}.socket`,
    gunicorn: `${env.gunicorn.service}.service`,
    handover: `${env.gunicorn.handoverService}.service`,
    celery: env.celery ? `${env.celery.service}.service` : undefined,
    beat: env.celery?.beat ? `${env.celery.beat.service}.service` : undefined,
  };
}

/** The units of the worker role (Celery's), of those the environment has. */
export function workerUnits(env: Environment): string[] {
  const units = appUnits(env);
  return present([units.celery, units.beat]);
}

export function redisIsLocal(env: Environment): boolean {
  const { redis } = env;
  return redis !== null && ["127.0.0.1", "localhost", "::1"].includes(redis.host) && env.server.systemServices.includes(redis.service);
}

/** Unit -> the units its Requires= names. systemd stops or restarts a unit when one it requires is stopped or restarted. */
export function unitRequires(env: Environment): Record<string, string[]> {
  const units = appUnits(env);
  return {
    [units.gunicorn]: [units.socket],
    [units.handover]: [units.socket],
    ...(units.celery ? { [units.celery]: redisIsLocal(env) ? [`${env.redis!.service}.service`] : [] } : {}),
    ...(units.celery && units.beat ? { [units.beat]: [units.celery] } : {}),
  };
}

/** The folder the application's units work in (their WorkingDirectory): it exists once a release is live. */
export function releaseFolder(env: Environment): string {
  return `${env.paths.current}/${env.paths.backendDir}`;
}

/** The units that run the application: systemd refuses to start them (status 200/CHDIR) before the first release. */
export function unitsInRelease(env: Environment): string[] {
  const units = appUnits(env);
  return [units.gunicorn, units.handover, ...workerUnits(env)];
}

/** Services their socket starts on the first connection: never started by gen, only restarted when running. */
export function socketActivated(env: Environment): string[] {
  return [appUnits(env).gunicorn];
}

export interface UnitRestart {
  unit: string;
  /** restart; or start, for a unit that systemd already restarts with one it requires (so it restarts once). */
  verb: "restart" | "start";
  /** The folder it runs in, for units that need a release: the command is skipped while it does not exist. */
  release?: string;
}

/**
 * Restarts `units`, each at most once: a unit that requires another unit of the list is restarted by systemd with
 * it, so it is only started afterwards (a no-op when it runs, a start when it did not), and a socket-activated
 * service whose socket restarts is left to its socket. Required units come first.
 */
export function restartOrder(units: string[], env: Environment): UnitRestart[] {
  const requires = unitRequires(env);
  const wanted = [...new Set(units)];
  const restartedWith = (unit: string, seen = new Set<string>()): boolean =>
    (requires[unit] ?? []).some((r) => !seen.has(r) && (wanted.includes(r) || restartedWith(r, new Set([...seen, unit]))));
  // How many units of the list this one waits for, through any chain of Requires=.
  const depth = (unit: string, seen = new Set<string>()): number =>
    Math.max(0, ...(requires[unit] ?? []).filter((r) => !seen.has(r)).map((r) => Number(wanted.includes(r)) + depth(r, new Set([...seen, unit]))));
  const ordered = wanted.map((unit, index) => ({ unit, index, depth: depth(unit) })).sort((a, b) => a.depth - b.depth || a.index - b.index);
  const inRelease = new Set(unitsInRelease(env));
  const onDemand = new Set(socketActivated(env));
  return ordered.flatMap(({ unit }): UnitRestart[] => {
    const release = inRelease.has(unit) ? { release: releaseFolder(env) } : {};
    if (!restartedWith(unit)) return [{ unit, verb: "restart", ...release }];
    return onDemand.has(unit) ? [] : [{ unit, verb: "start", ...release }];
  });
}

function present(units: (string | undefined)[]): string[] {
  return units.filter((unit): unit is string => unit !== undefined);
}
