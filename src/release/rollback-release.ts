// Rollback: `current` switched to the previous release (or a named one) and the services restarted as a deploy
// restarts them. Refuses an ID that does not exist. Effects: through the transport as the deploy user.
import type { Environment } from "../../schema/index.js";
import { releaseLock, takeLock } from "../server/lock.js";
import { serverShell } from "../server/server-shell.js";
import { errorMessage, GenError } from "../errors.js";
import type { Transport } from "../transport/transport.js";
import { migrationsToUndo, type MigrationUndo } from "./migrations.js";
import { appendReleaseLog, listReleases, restartServices, switchCurrent } from "./releases.js";

export interface RollbackPlan {
  from?: string;
  to: string;
  /** Migrations the live release applied that the target does not know, with the commands that would undo them. */
  undo: MigrationUndo[];
  /** Releases of the two without migrations.json: what they applied is not known. */
  unrecorded: string[];
}

export interface RollbackResult extends RollbackPlan {
  restarted: string[];
}

export async function rollbackRelease(
  env: Environment,
  options: { to?: string; restartCelery: boolean; forceUnlock: boolean; roles: string[] },
  effects: { transport: Transport; who: string; pid: number; now: () => Date; confirm: (plan: RollbackPlan) => Promise<boolean> },
): Promise<RollbackResult> {
  const shell = serverShell(effects.transport, env, { sudo: false });
  await takeLock(shell, env.server.stateDir, { who: effects.who, command: "rollback", since: effects.now().toISOString(), pid: effects.pid }, options.forceUnlock);
  try {
    const releases = await listReleases(shell, env);
    const liveIndex = releases.findIndex((r) => r.live);
    const target = options.to ?? (liveIndex > 0 ? releases[liveIndex - 1]!.id : undefined);
    if (target === undefined) throw new GenError(`no release before the live one on ${effects.transport.describe}: nothing to roll back to`);
    if (!releases.some((r) => r.id === target)) {
      throw new GenError(`no release ${target} on ${effects.transport.describe}; releases: ${releases.map((r) => r.id).join(", ") || "none"}`, { exitCode: 1 });
    }
    const from = releases[liveIndex]?.id;
    if (target === from) throw new GenError(`${target} is already the live release`);
    const live = releases[liveIndex];
    const to = releases.find((r) => r.id === target)!;
    const plan: RollbackPlan = {
      ...(from ? { from } : {}),
      to: target,
      undo: live?.migrations && to.migrations ? migrationsToUndo(env, live.migrations, to.migrations) : [],
      // Only worth saying when the environment records them (release.migrations).
      unrecorded: !env.release.migrations ? [] : [live, to].filter((r) => r !== undefined && r.migrations === undefined).map((r) => r!.id),
    };
    // Asked before anything changes: a refusal leaves `current` and the services as they were.
    if (!(await effects.confirm(plan))) throw new GenError(`rollback to ${target} not confirmed: nothing changed`, { exitCode: 1 });
    await switchCurrent(shell, env, target);
    const restarted: string[] = [];
    const entry = { at: effects.now().toISOString(), who: effects.who, command: "rollback" as const, release: target };
    try {
      await restartServices(shell, env, { celery: options.restartCelery, roles: options.roles }, (argv) => restarted.push(argv.join(" ")));
    } catch (error) {
      await appendReleaseLog(shell, env, { ...entry, result: "failed", error: errorMessage(error) }).catch(() => {});
      throw error;
    }
    await appendReleaseLog(shell, env, { ...entry, result: "switched" }).catch(() => {});
    return { ...plan, restarted };
  } finally {
    await releaseLock(shell, env.server.stateDir).catch(() => {});
  }
}
