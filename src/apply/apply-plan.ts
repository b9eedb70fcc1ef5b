// Apply: the reviewed plan of one host in; the server changed to match it, or left as it was, out.
// Effects: everything on the server goes through the transport: lock, preflight, folders, staged files checked
// with the real tools, atomic renames with backups, handlers, the record and log. Any failure after files moved
// restores them and runs the handlers again, so the server is never left half-applied. An interrupt (interrupt.ts)
// stops it before any file moves (staged files removed, lock released) or, once the install's round trip was sent,
// lets that round trip end and finishes: installed with its handlers, or restored after a failure.
import type { Environment } from "../../schema/index.js";
import { ConnectionLostError, errorMessage, GenError } from "../errors.js";
import { InterruptedError, stopIfInterrupted, type Interrupt } from "../interrupt.js";
import { filesForRoles, planChanges, unrecordedEntries } from "../plan/plan-changes.js";
import type { HostPlan, PlanEntry } from "../plan/plan-types.js";
import { probeRequest, stateFromProbe, type HostState } from "../plan/server-state.js";
import type { Transport } from "../transport/transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { handlerSteps, type HandlerStep } from "./handlers.js";
import { handlersRun, handlerStep, type HandlersRun } from "./handler-steps.js";
import { restoreAfterFailure, undoSteps } from "./restore.js";
import { backupDir, installStep, type Installed } from "./install.js";
import { orThrow } from "../transport/step-records.js";
import { attempt, chain, chainEach, optional, runStep, SKIPPED } from "../transport/typed-steps.js";
import { cleanupWarning, warnOnFailure, type CleanupWarning } from "../server/cleanup-warning.js";
import { lockDir, takeLock } from "../server/lock.js";
import { changedEntries, foldersStep, preflightStep, stopOnProblems } from "./preflight.js";
import { appendLog, applyLogPath, cleanUpAndUnlock, cleanUpStep, leftoversStep, recordStep, type ApplyLogEntry } from "../server/applied-record.js";
import { serverShell, type ServerShell } from "../server/server-shell.js";
import { checkCopies, checkSteps, stageAndCheck } from "./check-staged.js";
import { incomingDir, prepareIncomingScript, removeStaged, stageStep, stagingFailed } from "./stage.js";
import type { HeldLock } from "./locked-read.js";

export interface ApplyInput {
  envName: string;
  environment: Environment;
  /** The plan of this host as the operator reviewed it. */
  reviewed: HostPlan;
  rendered: RenderedFile[];
  folders: FolderSpec[];
  forceUnlock: boolean;
  /** The lock taken with the read this plan was made from (locked-read.ts): the plan is applied under it, not read again. */
  held?: HeldLock;
}

export interface ApplyEffects {
  transport: Transport;
  now: () => Date;
  who: string;
  pid: number;
  progress: (line: string) => void;
  /** A stop request (SIGINT...): checked before each round trip that would change the server. */
  interrupt?: Interrupt;
}

export interface HostApplyResult {
  host: string;
  /** "interrupted": stopped before any file moved; the files are as they were and the lock was released. */
  outcome: "applied" | "failed" | "unchanged" | "interrupted";
  changed: string[];
  handlers: string[];
  /** Service commands the host recorded instead of running (a folder standing in for a server: the sandbox). */
  recorded?: string[];
  /** Units whose restart waits for the first release (their folder does not exist yet): the first deploy starts them. */
  notStarted?: string[];
  restored: string[];
  recovered: string[];
  /** What the restore after a failure could not undo (files not put back, commands that failed). */
  restoreProblems?: string[];
  /** Files an interrupted apply had already put in place, finished now (handlers run, record written). */
  finished?: string[];
  lockReplaced?: string;
  /** The signal that came while this host was being changed: its outcome says what it then did. */
  interrupted?: string;
  error?: GenError;
  /** The lock or the log the apply could not release or write once its work was done (the command exits 1). */
  warnings?: CleanupWarning[];
}

/** The step under way, named when the connection drops during it, and shown if a second signal stops gen at once. */
interface UnderWay {
  step: string;
}

export async function applyPlan(input: ApplyInput, effects: ApplyEffects): Promise<HostApplyResult> {
  // A lock already held is released below whatever happens (the check after it says "before any file moved").
  if (!input.held) stopIfInterrupted(effects.interrupt, "before this host was started: nothing was changed on it");
  const at = underWay(effects.interrupt, "taking the lock");
  try {
    return await applySteps(input, effects, at);
  } catch (error) {
    throw lostDuring(error, at);
  } finally {
    effects.interrupt?.doing(undefined);
  }
}

function underWay(interrupt: Interrupt | undefined, first: string): UnderWay {
  let step = first;
  interrupt?.doing(step);
  return {
    get step() {
      return step;
    },
    set step(next) {
      step = next;
      interrupt?.doing(next);
    },
  };
}

/** A lost connection names the step it interrupted; the transport's message names the host and the operation. */
function lostDuring(error: unknown, at: UnderWay): unknown {
  return error instanceof ConnectionLostError ? new GenError(`while ${at.step}: ${error.message}`, { cause: error }) : error;
}

async function applySteps(input: ApplyInput, effects: ApplyEffects, at: UnderWay): Promise<HostApplyResult> {
  const { environment: env, reviewed } = input;
  const shell = serverShell(effects.transport, env);
  const result: HostApplyResult = { host: reviewed.host, outcome: "failed", changed: [], handlers: [], restored: [], recovered: [] };
  const applyId = applyIdFor(effects.now(), effects.pid);
  const files = filesForRoles(input.rendered, reviewed.roles);
  const folders = filesForRoles(input.folders, reviewed.roles);
  // Once the lock is taken, in the same round trip: the leftovers of an interrupted apply go, the server is read again
  // (unless the plan was read under this lock already).
  const lock = input.held
    ? { ...input.held, guarded: undefined }
    : await takeLock(
        shell,
        env.server.stateDir,
        { who: effects.who, command: "apply", since: effects.now().toISOString(), pid: effects.pid },
        input.forceUnlock,
        { user: env.server.deployUser, group: env.server.deployGroup },
        [
          leftoversStep(
            shell,
            env.server.stateDir,
            input.rendered.map((f) => f.path),
          ),
          probeRequest(effects.transport, files, folders, env.server.stateDir, true, false),
        ],
      );
  if (lock.replaced) result.lockReplaced = lock.replaced;
  let cleanedUp = false;
  try {
    let current: { host: HostPlan; applied?: Record<string, string> };
    if (input.held) {
      result.recovered = input.held.recovered;
      current = { host: reviewed, ...(input.held.applied ? { applied: input.held.applied } : {}) };
      stopIfInterrupted(effects.interrupt, "before any file moved: nothing was changed");
    } else {
      const [recovered, probe] = orThrow(lock.guarded!);
      result.recovered = recovered;
      stopIfInterrupted(effects.interrupt, "before any file moved: nothing was changed");
      at.step = "reading the server again under the lock";
      // What is compared with the reviewed plan is hashes, modes and owners: the contents were read for the review.
      const state = await stateFromProbe(effects.transport, files, folders, probe, { sudo: env.server.useSudo, contents: false });
      current = replanUnderLock(input, files, state);
    }
    cleanedUp = await applyLocked(input, effects, shell, current, applyId, result, at);
  } catch (error) {
    const named = lostDuring(error, at);
    result.error = named instanceof GenError ? named : new GenError(errorMessage(named), { cause: named });
    if (error instanceof InterruptedError) result.outcome = "interrupted";
    const log = logEntry(applyId, effects, reviewed, changedEntries(reviewed), result);
    warn(result, await warnOnFailure("log", applyLogPath(env.server.stateDir), () => appendLog(shell, env.server.stateDir, log)));
  } finally {
    at.step = "releasing the lock";
    if (!cleanedUp) {
      await cleanUpAndUnlock(shell, env.server.stateDir, [incomingDir(env.server.stateDir, applyId)]).catch((error: unknown) => {
        // The lock stays on the server: the next apply stops at it, so this one must not end as a success.
        if (!(error instanceof ConnectionLostError) || result.error) return warn(result, [cleanupWarning("unlock", lockDir(env.server.stateDir), error)]);
        result.outcome = "failed";
        result.error = new GenError(`${result.changed.length ? "the files were applied, but " : ""}while ${at.step}: ${error.message}`, {
          cause: error,
          details: [`gen's lock may still be held on ${reviewed.host}: the next apply takes it over with --force-unlock`],
        });
      });
    }
  }
  if (effects.interrupt?.signal) result.interrupted = effects.interrupt.signal;
  return result;
}

function warn(result: HostApplyResult, warnings: CleanupWarning[]): void {
  if (warnings.length) result.warnings = [...(result.warnings ?? []), ...warnings];
}

/** The server is read again once the lock is held: what is applied is exactly what was reviewed, or nothing. */
function replanUnderLock(input: ApplyInput, files: RenderedFile[], state: HostState): { host: HostPlan; applied?: Record<string, string> } {
  const { reviewed } = input;
  const host = planChanges(input.envName, files, input.folders, [{ host: reviewed.host, roles: reviewed.roles, state }]).hosts[0]!;
  const drifted = reviewed.entries.filter((entry) => {
    const now = host.entries.find((e) => e.path === entry.path);
    return now?.action !== entry.action || now.current?.sha256 !== entry.current?.sha256 || now.desired.sha256 !== entry.desired.sha256;
  });
  if (drifted.length > 0 || host.entries.length !== reviewed.entries.length) {
    throw new GenError(`the server or the environment changed since the plan was made; nothing was changed on ${reviewed.host}`, {
      details: [...drifted.map((e) => `${e.path}: no longer as planned`), `Run gen diff ${input.envName} again and review the new plan.`],
    });
  }
  return { host, ...(state.applied ? { applied: state.applied } : {}) };
}

/** Returns whether the clean-up and unlock already ran (at the end of the last chain). */
async function applyLocked(
  input: ApplyInput,
  effects: ApplyEffects,
  shell: ServerShell,
  current: { host: HostPlan; applied?: Record<string, string> },
  applyId: string,
  result: HostApplyResult,
  at: UnderWay,
): Promise<boolean> {
  const { environment: env } = input;
  const host = current.host;
  const entries = changedEntries(host);
  const unfinished = unrecordedEntries(host);
  if (entries.length === 0 && unfinished.length === 0 && host.folders.every((f) => f.action === "unchanged")) {
    result.outcome = "unchanged";
    return false;
  }
  result.finished = unfinished.map((e) => e.path);
  const rendered = new Map(input.rendered.map((f) => [f.path, f]));
  const installedUnits = host.entries.filter((e) => e.kind === "systemd-unit" && e.action === "unchanged");
  const { staged, step: staging } = stageStep(shell, env.server.stateDir, entries, rendered, applyId, (staged) =>
    checkCopies(env, staged, installedUnits, rendered, applyId),
  );
  const backups = backupDir(env.server.stateDir, applyId);
  // Files an interrupted apply already moved into place still need their handlers.
  const steps = handlerSteps([...entries, ...unfinished.map((e) => ({ ...e, action: "change" as const, changes: ["content" as const] }))], env, host.roles);
  const record = recordStep(
    shell,
    env.server.stateDir,
    host.entries.filter((e) => e.action !== "unreadable"),
    current.applied,
    logEntry(applyId, effects, host, entries, result),
    env.server.backupsKept,
  );
  const installing =
    entries.length > 0
      ? { ...installStep(shell, staged, backups), owners: entries.map(({ path, desired }) => ({ path, owner: desired.owner, group: desired.group })) }
      : undefined;
  if (entries.length > 0) effects.progress(`${host.host}: staging ${entries.length} file${entries.length === 1 ? "" : "s"}`);
  // One chain, one round trip, the first failure skipping the rest: preflight (fails when it finds a problem), folders,
  // staging, then every check (each run once staging succeeded, all reporting); the install only when every check
  // passed, which the server decides (check-staged.ts); handlers, record, clean-up. Once it is sent, an interrupt
  // lets it finish: the files end installed with their handlers, or, after a failure, restored.
  at.step = "staging, checking and installing the files, running the handlers and writing the record";
  const [problems, , stagedAndChecked, installRun, handled, recorded, cleaned] = await runStep(
    shell,
    chain(
      preflightStep(shell, env, host),
      foldersStep(shell, host, prepareIncomingScript(shell, env, applyId)),
      optional(entries.length > 0 ? stageAndCheck(staging, checkSteps(shell, env, staged, applyId)) : undefined),
      optional(installing),
      chainEach(steps.map((step) => handlerStep(shell, step, env))),
      attempt(record),
      cleanUpStep(shell, env.server.stateDir, [incomingDir(env.server.stateDir, applyId)]),
    ),
  );
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
}

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

function applyIdFor(now: Date, pid: number): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${pid}`;
}

function logEntry(id: string, effects: ApplyEffects, host: HostPlan, entries: PlanEntry[], result: HostApplyResult): ApplyLogEntry {
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
