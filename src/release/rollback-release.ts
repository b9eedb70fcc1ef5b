// Rollback: `current` switched to the previous release (or a named one) and the services restarted as a deploy
// restarts them. Refuses an ID that does not exist. Effects: through the transport as the deploy user.
import type { Environment } from "../../schema/index.js";
import { releaseLock, takeLock } from "../apply/lock.js";
import { serverShell } from "../apply/server-shell.js";
import { errorMessage, GenError } from "../errors.js";
import type { Transport } from "../transport/transport.js";
import { appendReleaseLog, listReleases, restartServices, switchCurrent } from "./releases.js";

export interface RollbackResult {
  from?: string;
  to: string;
  restarted: string[];
}

export async function rollbackRelease(
  env: Environment,
  options: { to?: string; restartCelery: boolean; forceUnlock: boolean; roles: string[] },
  effects: { transport: Transport; who: string; pid: number; now: () => Date },
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
    return { ...(from ? { from } : {}), to: target, restarted };
  } finally {
    await releaseLock(shell, env.server.stateDir).catch(() => {});
  }
}
