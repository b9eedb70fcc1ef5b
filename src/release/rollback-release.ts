// Rollback: `current` switched to the previous release (the newest good one before the live one, skipping those
// switched back, failed or unfinished: release-history.ts) or a named one, and the services restarted as a deploy
// restarts them. Refuses an ID that does not exist; a named release that is not good is the operator's call: the
// plan says so (targetStanding) for the command to show. Effects: through the transport as the deploy user. An
// interrupt (interrupt.ts) before the switch changes nothing (an InterruptedError); once `current` switched, the
// restarts run and the rollback is finished. Round trips: the lock with the releases listed under it; after the
// question, the switch, the restarts, the log and the unlock (a failure adds one: the log and the unlock).
import type { Environment } from "../../schema/index.js";
import { cleanupWarning, warnOnFailure, type CleanupWarning } from "../server/cleanup-warning.js";
import { lockDir, releaseLock, releaseLockStep, takeLock } from "../server/lock.js";
import { holderOf } from "../server/lock-holder.js";
import { serverShell } from "../server/server-shell.js";
import { errorMessage, GenError } from "../errors.js";
import { InterruptedError, stopIfInterrupted, type Interrupt } from "../interrupt.js";
import type { Transport } from "../transport/transport.js";
import { migrationsToUndo, type MigrationUndo } from "./migrations.js";
import { describeStatus, type ReleaseStanding } from "./release-history.js";
import { orThrow } from "../transport/step-records.js";
import { attempt, chain, runStep, SKIPPED } from "../transport/typed-steps.js";
import { endRelease } from "./release-end.js";
import {
  appendReleaseLogStep,
  previousRelease,
  readRestarts,
  releaseLogPath,
  releasesWithLogSteps,
  restartSteps,
  switchCurrentStep,
  type ReleaseInfo,
  type ReleaseLogEntry,
} from "./releases.js";

export interface RollbackPlan {
  from?: string;
  to: string;
  /** Migrations the live release applied that the target does not know, with the commands that would undo them. */
  undo: MigrationUndo[];
  /** Releases of the two without migrations.json: what they applied is not known. */
  unrecorded: string[];
  /** Without --to: the releases between the target and the live one that are not good, newest first. */
  skipped: ReleaseStanding[];
  /** A target named with --to that is not good: its status and the log's record of why (shown before switching). */
  targetStanding?: { status: ReleaseStanding["status"]; record?: ReleaseLogEntry };
}

export interface RollbackResult extends RollbackPlan {
  restarted: string[];
  /** Service commands the host recorded instead of running (a folder standing in for a server: the sandbox). */
  recorded?: string[];
  /** The signal that came once `current` had switched: the rollback was finished. */
  interrupted?: string;
  /** The release log or the lock the rollback could not write or release at its end (the command exits 1). */
  warnings?: CleanupWarning[];
}

export async function rollbackRelease(
  env: Environment,
  options: { to?: string; restartCelery: boolean; forceUnlock: boolean; roles: string[] },
  effects: { transport: Transport; who: string; pid: number; now: () => Date; confirm: (plan: RollbackPlan) => Promise<boolean>; interrupt?: Interrupt },
): Promise<RollbackResult> {
  const { interrupt } = effects;
  stopIfInterrupted(interrupt, "before this host was started: nothing was changed on it");
  try {
    return await rollbackSteps(env, options, effects);
  } finally {
    interrupt?.doing(undefined);
  }
}

async function rollbackSteps(
  env: Environment,
  options: { to?: string; restartCelery: boolean; forceUnlock: boolean; roles: string[] },
  effects: { transport: Transport; who: string; pid: number; now: () => Date; confirm: (plan: RollbackPlan) => Promise<boolean>; interrupt?: Interrupt },
): Promise<RollbackResult> {
  const { interrupt } = effects;
  const shell = serverShell(effects.transport, env, { sudo: false });
  interrupt?.doing("taking the lock and listing the releases");
  // The releases are listed under the lock, in its round trip.
  const taken = await takeLock(shell, env.server.stateDir, holderOf("rollback", effects), options.forceUnlock, undefined, [releasesWithLogSteps(shell, env)]);
  const warnings: CleanupWarning[] = [];
  let done: RollbackResult | undefined;
  let failure: unknown;
  let unlocked = false;
  try {
    const [releases] = orThrow(taken.guarded);
    const { target, skipped } = rollbackTarget(releases, options.to, effects.transport.describe);
    const live = releases.find((r) => r.live);
    const from = live?.id;
    const unchanged = `before the switch: nothing was changed${from ? `; ${from} is still live` : ""}`;
    if (target === from) throw new GenError(`${target} is already the live release`);
    const to = releases.find((r) => r.id === target)!;
    const plan: RollbackPlan = {
      ...(from ? { from } : {}),
      to: target,
      undo: live?.migrations && to.migrations ? migrationsToUndo(env, live.migrations, to.migrations) : [],
      // Only worth saying when the environment records them (release.migrations).
      unrecorded: !env.release.migrations ? [] : [live, to].filter((r) => r !== undefined && r.migrations === undefined).map((r) => r!.id),
      skipped,
      ...(to.status !== "good" ? { targetStanding: { status: to.status, ...(to.lastRecord ? { record: to.lastRecord } : {}) } } : {}),
    };
    // Asked before anything changes: a refusal leaves `current` and the services as they were.
    stopIfInterrupted(interrupt, unchanged);
    interrupt?.doing("asking");
    const confirmed = await effects.confirm(plan);
    stopIfInterrupted(interrupt, unchanged);
    if (!confirmed) throw new GenError(`rollback to ${target} not confirmed: nothing changed`, { exitCode: 1 });
    // Past this point the rollback is finished: the switch, the restarts, the log and the unlock are one round trip,
    // each run only when the one before succeeded (a switch that fails throws: nothing else ran).
    interrupt?.doing(`switching ${env.paths.current} to ${target} and restarting`);
    const entry = { at: effects.now().toISOString(), who: effects.who, command: "rollback" as const, release: target, ...(from ? { from } : {}) };
    const [, restarts, logged, unlock] = await runStep(
      shell,
      chain(
        switchCurrentStep(shell, env, target),
        restartSteps(shell, env, { celery: options.restartCelery, roles: options.roles }),
        attempt(appendReleaseLogStep(shell, env, { ...entry, result: "switched" })),
        attempt(releaseLockStep(shell, env.server.stateDir)),
      ),
    );
    const restarted: string[] = [];
    const recorded: string[] = [];
    try {
      readRestarts(restarts === SKIPPED ? [] : restarts, (shown, onlyRecorded) => (onlyRecorded ? recorded : restarted).push(shown));
    } catch (error) {
      interrupt?.doing("releasing the lock");
      const ended = await endRelease(shell, env, { ...entry, result: "failed", error: errorMessage(error) });
      unlocked = true;
      warnings.push(...ended.warnings);
      throw error;
    }
    if (logged !== SKIPPED && !logged.ok) warnings.push(cleanupWarning("log", releaseLogPath(env), logged.error));
    if (unlock !== SKIPPED) {
      unlocked = true;
      if (!unlock.ok) warnings.push(cleanupWarning("unlock", lockDir(env.server.stateDir), unlock.error));
    }
    done = { ...plan, restarted, ...(recorded.length ? { recorded } : {}), ...(interrupt?.signal ? { interrupted: interrupt.signal } : {}) };
  } catch (error) {
    failure = error;
  }
  if (!unlocked) {
    interrupt?.doing("releasing the lock");
    warnings.push(...(await warnOnFailure("unlock", lockDir(env.server.stateDir), () => releaseLock(shell, env.server.stateDir))));
  }
  if (done === undefined) throw withWarnings(failure, warnings);
  return warnings.length ? { ...done, warnings } : done;
}

/**
 * The release to switch to: `to` when named (it must exist), else the newest good release before the live one,
 * with the releases skipped on the way. No good release before the live one is an error naming those skipped.
 */
export function rollbackTarget(releases: ReleaseInfo[], to: string | undefined, where: string): { target: string; skipped: ReleaseStanding[] } {
  if (to !== undefined) {
    if (!releases.some((r) => r.id === to))
      throw new GenError(`no release ${to} on ${where}; releases: ${releases.map((r) => r.id).join(", ") || "none"}`, { exitCode: 1 });
    return { target: to, skipped: [] };
  }
  const previous = releases.some((r) => r.live) ? previousRelease(releases) : { skipped: [] };
  if (previous.id === undefined) {
    const why = previous.skipped.map((r) => `${r.id} (${describeStatus(r.status)})`).join(", ");
    throw new GenError(
      `no good release before the live one on ${where}: nothing to roll back to${why ? `; skipped ${why}; name one with --to ID to switch to it anyway` : ""}`,
    );
  }
  return { target: previous.id, skipped: previous.skipped };
}

/** A rollback that failed and also left its lock or log behind says both. */
function withWarnings(error: unknown, warnings: CleanupWarning[]): unknown {
  if (warnings.length === 0) return error;
  const known = error instanceof GenError ? error : undefined;
  const also = warnings.flatMap((w) => [
    `also: ${w.what === "unlock" ? "could not release gen's lock" : "could not append to the log"} ${w.path}: ${w.message}`,
    ...w.details,
  ]);
  const details = [...(known?.details ?? []), ...also];
  if (error instanceof InterruptedError) return new InterruptedError(error.signal, error.message, details);
  return new GenError(errorMessage(error), { cause: error, exitCode: known?.exitCode ?? 1, details });
}
