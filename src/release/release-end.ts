// The last round trip of a deploy or rollback: what is left to remove, the release log appended and gen's lock
// released, each whatever the others did. A log line or a lock that could not be written or released comes back as
// a warning (cleanup-warning.ts), never thrown: the command reports it and exits 1.
import type { Environment } from "../../schema/index.js";
import { errorMessage, GenError } from "../errors.js";
import { cleanupWarning, type CleanupWarning } from "../server/cleanup-warning.js";
import { lockDir, releaseLockStep } from "../server/lock.js";
import type { ServerShell } from "../server/server-shell.js";
import type { Parsed } from "../transport/step-records.js";
import { attempt, each, optional, runStep, type TypedStep } from "../transport/typed-steps.js";
import { appendReleaseLogStep, releaseLogPath, type ReleaseLogEntry } from "./releases.js";

/** `remove`'s answer (undefined without one) and the warnings of the log and the lock. */
export async function endRelease(
  shell: ServerShell,
  env: Environment,
  entry: ReleaseLogEntry,
  remove?: TypedStep<unknown>,
): Promise<{ removed?: Parsed<unknown>; warnings: CleanupWarning[] }> {
  const log = releaseLogPath(env);
  const lock = lockDir(env.server.stateDir);
  try {
    const [removed, logged, unlocked] = await runStep(
      shell,
      each([attempt(optional(remove)), attempt(appendReleaseLogStep(shell, env, entry)), attempt(releaseLockStep(shell, env.server.stateDir))]),
    );
    const warnings = [
      ...(logged.ok ? [] : [cleanupWarning("log", log, logged.error)]),
      ...(unlocked.ok ? [] : [cleanupWarning("unlock", lock, unlocked.error)]),
    ];
    return { ...(remove ? { removed } : {}), warnings };
  } catch (error) {
    const failed = error instanceof GenError ? error : new GenError(errorMessage(error), { cause: error });
    return {
      ...(remove ? { removed: { ok: false, error: failed } } : {}),
      warnings: [cleanupWarning("log", log, error), cleanupWarning("unlock", lock, error)],
    };
  }
}
