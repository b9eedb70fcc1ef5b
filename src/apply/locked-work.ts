// The work an apply takes its lock for, once the plan to apply is known (apply-plan.ts): preflight, folders, staging
// and every check, the install when the server found every check passed, handlers, record and clean-up, as one chain
// of steps sent in one round trip, and the reading of its answers: what was installed and ran, or the restore after a
// failure. Effects: through the transport only, when the answers are read (removing staged files, restoring).
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { unrecordedEntries } from "../plan/plan-changes.js";
import type { HostPlan, PlanEntry } from "../plan/plan-types.js";
import { appliedRecord, cleanUpStep, recordStep, stagedRecordFiles, type ApplyLogEntry } from "../server/applied-record.js";
import type { Accounts } from "../plan/server-probe.js";
import type { ServerShell } from "../server/server-shell.js";
import { attempt, chain, chainEach, optional, SKIPPED, type ResultOf } from "../transport/typed-steps.js";
import type { ApplyEffects, ApplyInput, HostApplyResult } from "./apply-plan.js";
import { checkCopies, checkSteps, stageAndCheck } from "./check-staged.js";
import { handlersRun, handlerStep, type HandlersRun } from "./handler-steps.js";
import { handlerSteps, type HandlerStep } from "./handlers.js";
import { backupDir, installStep, type Installed } from "./install.js";
import { changedEntries, foldersStep, preflightStep, stopOnProblems } from "./preflight.js";
import { restoreAfterFailure, undoSteps } from "./restore.js";
import { incomingDir, removeStaged, stageStep, stagingFailed } from "./stage.js";

/** The step under way, named when the connection drops during it, and shown if a second signal stops gen at once. */
export interface UnderWay {
  step: string;
}

/**
 * The plan of one host to apply, gen's record as the read it was made from found it (path -> sha256), and, when that
 * read was the probe that took the lock, whether the accounts of the files and folders exist (preflight's check).
 */
export interface LockedPlan {
  host: HostPlan;
  applied?: Record<string, string>;
  accounts?: Accounts;
}

/**
 * What the lock is taken for, as one chain: preflight (fails when it finds a problem), folders, staging, then every
 * check (each run once staging succeeded, all reporting); the install only when every check passed, which the server
 * decides (check-staged.ts); handlers, record, clean-up. The first failure skips the rest. Once it is sent, an
 * interrupt lets it finish: the files end installed with their handlers, or, after a failure, restored. `finish` reads
 * its answers and returns whether the clean-up and unlock ran. Undefined when there is nothing to do.
 */
export function lockedWork(
  input: ApplyInput,
  effects: ApplyEffects,
  shell: ServerShell,
  current: LockedPlan,
  applyId: string,
  result: HostApplyResult,
  at: UnderWay,
) {
  const { environment: env } = input;
  const host = current.host;
  const entries = changedEntries(host);
  const unfinished = unrecordedEntries(host);
  if (entries.length === 0 && unfinished.length === 0 && host.folders.every((f) => f.action === "unchanged")) return undefined;
  const rendered = new Map(input.rendered.map((f) => [f.path, f]));
  const installedUnits = host.entries.filter((e) => e.kind === "systemd-unit" && e.action === "unchanged");
  const incoming = incomingDir(env.server.stateDir, applyId);
  const applied = appliedRecord(
    host.entries.filter((e) => e.action !== "unreadable"),
    current.applied,
    logEntry(applyId, effects, host, entries, result),
  );
  // The record and its log line are written by the staging program when there is one (a short record step).
  const { staged, step: staging } = stageStep(shell, env.server.stateDir, entries, rendered, applyId, (staged) => [
    ...checkCopies(env, staged, installedUnits, rendered, applyId),
    ...stagedRecordFiles(incoming, applied),
  ]);
  const backups = backupDir(env.server.stateDir, applyId);
  // Files an interrupted apply already moved into place still need their handlers.
  const steps = handlerSteps([...entries, ...unfinished.map((e) => ({ ...e, action: "change" as const, changes: ["content" as const] }))], env, host.roles);
  const record = recordStep(shell, env.server.stateDir, applied, entries.length > 0 ? incoming : undefined);
  const installing =
    entries.length > 0
      ? { ...installStep(shell, staged, backups), owners: entries.map(({ path, desired }) => ({ path, owner: desired.owner, group: desired.group })) }
      : undefined;
  const work = chain(
    preflightStep(shell, env, host, current.accounts),
    optional(host.folders.some((f) => f.action !== "unchanged") ? foldersStep(shell, host) : undefined),
    optional(entries.length > 0 ? stageAndCheck(staging, checkSteps(shell, env, staged, applyId)) : undefined),
    optional(installing),
    chainEach(steps.map((step) => handlerStep(shell, step, env))),
    attempt(record),
    // With the backups beyond server.backupsKept: only at the end of an apply that succeeded.
    cleanUpStep(shell, env.server.stateDir, [incoming], env.server.backupsKept),
  );
  /** Said and noted just before the chain is sent. */
  const sending = () => {
    result.finished = unfinished.map((e) => e.path);
    if (entries.length > 0) effects.progress(`${host.host}: staging ${entries.length} file${entries.length === 1 ? "" : "s"}`);
    at.step = "staging, checking and installing the files, running the handlers and writing the record";
  };
  const finish = async ([problems, , stagedAndChecked, installRun, handled, recorded, cleaned]: ResultOf<typeof work>): Promise<boolean> => {
    at.step = "running the preflight checks";
    stopOnProblems(host.host, problems);
    at.step = "staging the files";
    const outcome = stagedAndChecked === SKIPPED ? undefined : stagedAndChecked;
    if (outcome?.failed) {
      await removeStaged(shell, staged);
      throw outcome.failed;
    }
    at.step = "checking the staged files";
    if (outcome && outcome.rejected.length > 0) {
      await removeStaged(shell, staged);
      throw stagingFailed(host.host, outcome.rejected);
    }
    const install = installRun === SKIPPED ? undefined : installRun;
    const installed = install?.installed ?? [];
    result.changed = installed.map((i) => i.path);
    const failed = (error: GenError, attempted: HandlerStep[]) =>
      rollBack(shell, env, { entries, installed, staged, attempted }, result, error, effects, at).then(() => false);
    if (install?.error) return failed(install.error, []);
    at.step = "running the handlers";
    const handlers = handlersRun(result.host, env, handled);
    reportHandlers(handlers, result, effects);
    if (handlers.error) return failed(handlers.error, handlers.attempted);
    at.step = "writing the record";
    if (recorded !== SKIPPED && !recorded.ok) throw recorded.error;
    result.outcome = "applied";
    return cleaned !== SKIPPED && cleaned === undefined;
  };
  return { chain: work, sending, finish };
}

export type LockedWork = NonNullable<ReturnType<typeof lockedWork>>;

/** Says what each handler did, in order: ran, was recorded (the sandbox), or waits for the first release. */
function reportHandlers(handlers: HandlersRun, result: HostApplyResult, effects: ApplyEffects): void {
  for (const done of handlers.done) {
    if ("recorded" in done) {
      effects.progress(`${result.host}: recorded, not run (sandbox): ${done.recorded}`);
      result.recorded = [...(result.recorded ?? []), done.recorded];
      continue;
    }
    if ("waits" in done) {
      effects.progress(`${result.host}: ${done.waits} not started: there is no release yet (the first gen deploy starts it)`);
      result.notStarted = [...(result.notStarted ?? []), done.waits];
      continue;
    }
    effects.progress(`${result.host}: ${done.ran}`);
    result.handlers.push(done.ran);
  }
}

/** Puts the server back as it was before this apply (restore.ts), and says exactly what could not be. */
async function rollBack(
  shell: ServerShell,
  env: Environment,
  done: { entries: PlanEntry[]; installed: Installed[]; staged: { staged: string; entry: PlanEntry }[]; attempted: HandlerStep[] },
  result: HostApplyResult,
  cause: GenError,
  effects: ApplyEffects,
  at: UnderWay,
): Promise<void> {
  at.step = "restoring the files after a failure";
  await removeStaged(shell, done.staged);
  const plan = undoSteps(env, done.entries, done.installed, done.attempted);
  const outcome = await restoreAfterFailure(shell, env, plan, done.installed, (step) => handlerStep(shell, step, env));
  result.restored = outcome.restored;
  for (const line of outcome.undone) effects.progress(`${result.host}: undo: ${line}`);
  const details = [
    ...cause.details,
    `restored: ${outcome.restored.join(", ") || "nothing"}`,
    ...(outcome.undone.length > 0 ? [`undone: ${outcome.undone.join("; ")}`] : []),
    ...outcome.problems,
  ];
  if (outcome.problems.length === 0) throw new GenError(`${cause.message}; every file of this apply was restored and its service changes undone`, { details });
  result.restoreProblems = outcome.problems;
  // A problem's own output lines are indented under it.
  const count = outcome.problems.filter((line) => !line.startsWith("  ")).length;
  throw new GenError(
    `${cause.message}; the restore is INCOMPLETE on ${result.host}: ${count} problem${count === 1 ? "" : "s"} (below); run gen diff to see what differs`,
    {
      details,
    },
  );
}

export function logEntry(id: string, effects: ApplyEffects, host: HostPlan, entries: PlanEntry[], result: HostApplyResult): ApplyLogEntry {
  return {
    id,
    who: effects.who,
    at: effects.now().toISOString(),
    host: host.host,
    outcome: result.outcome === "interrupted" ? "interrupted" : result.error || result.restored.length ? "failed" : "applied",
    files: entries.map((e) => ({ path: e.path, ...(e.current ? { old: e.current.sha256 } : {}), new: e.desired.sha256 })),
    restored: result.restored,
    ...(result.error ? { error: result.error.message } : {}),
  };
}
