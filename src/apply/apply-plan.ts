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
import type { ProbeOutput } from "../plan/server-probe.js";
import type { Transport } from "../transport/transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { handlerSteps, type HandlerStep } from "./handlers.js";
import { handlersRun, handlerStep, type HandlersRun } from "./handler-steps.js";
import { restoreAfterFailure, undoSteps } from "./restore.js";
import { backupDir, installStep, type Installed } from "./install.js";
import { orThrow, type Parsed } from "../transport/step-records.js";
import { attempt, chain, chainEach, optional, runStep, SKIPPED, type ResultOf, type Skipped } from "../transport/typed-steps.js";
import { cleanupWarning, warnOnFailure, type CleanupWarning } from "../server/cleanup-warning.js";
import { lockDir, lockedRoundTrip, lockSteps, takeLock } from "../server/lock.js";
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
  /**
   * The read the plan was made from: the lock, the re-read checked on the server against its digest, and the work go in
   * one round trip. Without it, the server is read again under the lock in a round trip of its own.
   */
  read?: ReviewedRead;
}

/** The read a reviewed plan was made from (for a saved plan: the read made before the question, checked against it). */
export interface ReviewedRead {
  /** The server's digest of what the plan depends on (server-probe.ts). */
  digest: string;
  /** The plan made from that read. */
  host: HostPlan;
  /** gen's record as that read found it (path -> sha256). */
  applied?: Record<string, string>;
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
  const read = input.held ? undefined : reviewedRead(input);
  const work = read && lockedWork(input, effects, shell, read.current, applyId, result, at);
  // Once the lock is taken, in the same round trip: the leftovers of an interrupted apply go, the server is read again
  // (unless the plan was read under this lock already) and, when the review's read left its digest, checked on the
  // server against it: the work then follows in that round trip too.
  let sent: OneChain | undefined;
  let lost: unknown;
  if (read) {
    work?.sending();
    at.step = work ? `taking the lock, reading the server again, ${at.step}` : "taking the lock and reading the server again";
    sent = await lockAndWork(input, effects, shell, { files, folders, digest: read.digest }, work).catch((error: unknown) => {
      // Maybe after the lock was taken: what follows says so, and tries to release it.
      if (!(error instanceof ConnectionLostError)) throw error;
      lost = error;
      return undefined;
    });
  }
  const lock = input.held
    ? { ...input.held, guarded: undefined }
    : read
      ? { ...(sent?.replaced ? { replaced: sent.replaced } : {}), guarded: undefined }
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
    if (lost) throw lost;
    if (input.held) {
      result.recovered = input.held.recovered;
      stopIfInterrupted(effects.interrupt, "before any file moved: nothing was changed");
      const current = { host: reviewed, ...(input.held.applied ? { applied: input.held.applied } : {}) };
      cleanedUp = await applyLocked(input, effects, shell, current, applyId, result, at);
    } else {
      const [recovered, probe] = sent ? [underLock(sent.rest[0], shell), underLock(sent.rest[1], shell)] : orThrow(lock.guarded!);
      result.recovered = recovered;
      if (sent && !probe.drifted) {
        // Nothing the plan depends on changed since the review: the work ran in the round trip that took the lock.
        const answers = underLock(sent.rest[2], shell);
        if (work && answers) cleanedUp = await work.finish(answers);
        else result.outcome = "unchanged";
      } else {
        stopIfInterrupted(effects.interrupt, "before any file moved: nothing was changed");
        at.step = "reading the server again under the lock";
        // What is compared with the reviewed plan is hashes, modes and owners: the contents were read for the review.
        const state = await stateFromProbe(effects.transport, files, folders, probe, { sudo: env.server.useSudo, contents: false });
        cleanedUp = await applyLocked(input, effects, shell, replanUnderLock(input, files, state), applyId, result, at);
      }
    }
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
  const drifted = driftFromReview(reviewed, host);
  if (drifted) {
    throw new GenError(`the server or the environment changed since the plan was made; nothing was changed on ${reviewed.host}`, {
      details: [...drifted.map((e) => `${e.path}: no longer as planned`), `Run gen diff ${input.envName} again and review the new plan.`],
    });
  }
  return { host, ...(state.applied ? { applied: state.applied } : {}) };
}

/** The reviewed entries `host` does not plan as they were reviewed; undefined when it plans exactly those. */
function driftFromReview(reviewed: HostPlan, host: HostPlan): PlanEntry[] | undefined {
  const drifted = reviewed.entries.filter((entry) => {
    const now = host.entries.find((e) => e.path === entry.path);
    return now?.action !== entry.action || now.current?.sha256 !== entry.current?.sha256 || now.desired.sha256 !== entry.desired.sha256;
  });
  return drifted.length > 0 || host.entries.length !== reviewed.entries.length ? drifted : undefined;
}

/**
 * The plan of the read the review was made from, applied in the round trip that takes the lock when that read left its
 * digest and plans exactly what was reviewed (a saved plan is checked against a read made before the question: today's
 * path refuses the rest under the lock, naming the files). Its lock is gone: under this apply's own, it is not read.
 */
function reviewedRead(input: ApplyInput): { digest: string; current: { host: HostPlan; applied?: Record<string, string> } } | undefined {
  const read = input.read;
  if (!read || driftFromReview(input.reviewed, read.host)) return undefined;
  const { lock: _theirs, ...host } = read.host;
  return { digest: read.digest, current: { host, ...(read.applied ? { applied: read.applied } : {}) } };
}

/** A value of a step sent after the lock was taken: it ran (else its chain broke before it: a failure said before it). */
function underLock<T>(part: Parsed<T> | Skipped, shell: ServerShell): T {
  if (part === SKIPPED) throw new GenError(`internal error: the steps under the lock did not run on ${shell.transport.describe}`);
  return orThrow(part);
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
  const work = lockedWork(input, effects, shell, current, applyId, result, at);
  if (!work) {
    result.outcome = "unchanged";
    return false;
  }
  work.sending();
  return work.finish(await runStep(shell, work.chain));
}

/**
 * What the lock is taken for, as one chain: preflight (fails when it finds a problem), folders, staging, then every
 * check (each run once staging succeeded, all reporting); the install only when every check passed, which the server
 * decides (check-staged.ts); handlers, record, clean-up. The first failure skips the rest. Once it is sent, an
 * interrupt lets it finish: the files end installed with their handlers, or, after a failure, restored. `finish` reads
 * its answers and returns whether the clean-up and unlock ran. Undefined when there is nothing to do.
 */
function lockedWork(
  input: ApplyInput,
  effects: ApplyEffects,
  shell: ServerShell,
  current: { host: HostPlan; applied?: Record<string, string> },
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
  const work = chain(
    preflightStep(shell, env, host),
    foldersStep(shell, host, prepareIncomingScript(shell, env, applyId)),
    optional(entries.length > 0 ? stageAndCheck(staging, checkSteps(shell, env, staged, applyId)) : undefined),
    optional(installing),
    chainEach(steps.map((step) => handlerStep(shell, step, env))),
    attempt(record),
    cleanUpStep(shell, env.server.stateDir, [incomingDir(env.server.stateDir, applyId)]),
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

type LockedWork = NonNullable<ReturnType<typeof lockedWork>>;

/** What the round trip that took the lock brought back: whose lock it replaced, and the leftovers, the read and the work. */
interface OneChain {
  replaced?: string;
  rest: [Parsed<string[]> | Skipped, Parsed<ProbeOutput> | Skipped, Parsed<ResultOf<LockedWork["chain"]> | undefined> | Skipped];
}

/**
 * The lock, the leftovers of an interrupted apply, the server read again and checked on the server against the
 * review's digest, and `work`: one round trip. A digest that differs fails the read's step, so nothing of `work` runs
 * and the lock stays held for the caller to make the plan again from what the read found. A lock held by someone else
 * throws as takeLock does (one left by a dead run of this user here is taken over: the round trip is sent again).
 */
async function lockAndWork(
  input: ApplyInput,
  effects: ApplyEffects,
  shell: ServerShell,
  read: { files: RenderedFile[]; folders: FolderSpec[]; digest: string },
  work: LockedWork | undefined,
): Promise<OneChain> {
  const env = input.environment;
  const stateDir = env.server.stateDir;
  const holder = { who: effects.who, command: "apply", since: effects.now().toISOString(), pid: effects.pid };
  const owner = { user: env.server.deployUser, group: env.server.deployGroup };
  return lockedRoundTrip(shell, holder, input.forceUnlock, async (force) => {
    const [lock, ...rest] = await runStep(
      shell,
      chain(
        lockSteps(shell, stateDir, holder, force, owner),
        attempt(
          leftoversStep(
            shell,
            stateDir,
            input.rendered.map((f) => f.path),
          ),
        ),
        attempt(probeRequest(effects.transport, read.files, read.folders, stateDir, true, false, read.digest)),
        attempt(optional(work?.chain)),
      ),
    );
    return [lock, rest] as const;
  });
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
