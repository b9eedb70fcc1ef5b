// Apply: the reviewed plan of one host in; the server changed to match it, or left as it was, out.
// Effects: everything on the server goes through the transport: lock, preflight, folders, staged files checked
// with the real tools, atomic renames with backups, handlers, the record and log. Any failure after files moved
// restores them and runs the handlers again, so the server is never left half-applied. An interrupt (interrupt.ts)
// stops it before any file moves (staged files removed, lock released) or, once the install's round trip was sent,
// lets that round trip end and finishes: installed with its handlers, or restored after a failure.
// Round trips: the lock and the server read again (one program), and the leftovers of an interrupted apply go in one;
// when the read the plan was made from left its digest, the server compares it in that round trip and the work
// (locked-work.ts) follows there too, else, or when the digest differs, the plan is made again from what was read and
// the work goes in the next.
import type { Environment } from "../../schema/index.js";
import { ConnectionLostError, errorMessage, GenError } from "../errors.js";
import { InterruptedError, stopIfInterrupted, type Interrupt } from "../interrupt.js";
import { filesForRoles, planChanges } from "../plan/plan-changes.js";
import type { HostPlan, PlanEntry } from "../plan/plan-types.js";
import { lockingProbeRequest, stateFromProbe, type HostState } from "../plan/server-state.js";
import type { AccountNames, ProbeOutput } from "../plan/server-probe.js";
import type { Transport } from "../transport/transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { orThrow, type Parsed } from "../transport/step-records.js";
import { attempt, chain, optional, runStep, runSteps, SKIPPED, type ResultOf, type Skipped, type TypedStep } from "../transport/typed-steps.js";
import { cleanupWarning, warnOnFailure, type CleanupWarning } from "../server/cleanup-warning.js";
import { lockDir, lockedRoundTrip, lockGuarding, lockOwner, takeLockWith } from "../server/lock.js";
import { holderOf } from "../server/lock-holder.js";
import { changedEntries, preflightAccounts } from "./preflight.js";
import { appendLog, applyLogPath, cleanUpAndUnlock, cleanUpStep, leftoversStep } from "../server/applied-record.js";
import { serverShell, type ServerShell } from "../server/server-shell.js";
import { incomingDir } from "./stage.js";
import type { HeldLock } from "./locked-read.js";
import { lockedWork, logEntry, type LockedPlan, type LockedWork, type UnderWay } from "./locked-work.js";

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
  // The leftovers of an interrupted apply, when the probe that took the lock stopped its round trip before them: the
  // next round trip starts with them (the work's, or the unlock's).
  const due: { leftovers?: TypedStep<string[]> } = {};
  // The program that takes the lock reads the server again in the same process (unless the plan was read under this
  // lock already) and, when the review's read left its digest, checks it there against it; in the same round trip the
  // leftovers of an interrupted apply go, and the work follows.
  let sent: OneChain | undefined;
  let lost: unknown;
  if (read) {
    work?.sending();
    at.step = work ? `taking the lock, reading the server again, ${at.step}` : "taking the lock and reading the server again";
    sent = await lockAndWork(input, effects, shell, { files, folders, digest: read.digest, needed: read.needed }, work).catch((error: unknown) => {
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
      : await takeLockWith(
          shell,
          env.server.stateDir,
          holderOf("apply", effects),
          input.forceUnlock,
          lockOwner(env),
          [leftovers(input, shell)],
          lockingProbeRequest(effects.transport, files, folders, env.server.stateDir, false),
        );
  if (lock.replaced) result.lockReplaced = lock.replaced;
  let cleanedUp = false;
  try {
    if (lost) throw lost;
    if (input.held) {
      result.recovered = input.held.recovered;
      stopIfInterrupted(effects.interrupt, "before any file moved: nothing was changed");
      const current = {
        host: reviewed,
        ...(input.held.applied ? { applied: input.held.applied } : {}),
        ...(input.held.accounts ? { accounts: input.held.accounts } : {}),
      };
      cleanedUp = await applyLocked(input, effects, shell, current, applyId, result, at);
    } else {
      let probe: ProbeOutput;
      if (sent) {
        [probe] = orThrow(sent.rest.probe);
        if (probe.drifted) due.leftovers = leftovers(input, shell);
        else result.recovered = underLock(sent.rest.leftovers, shell);
      } else {
        [result.recovered, probe] = orThrow(lock.guarded!);
      }
      if (sent && !probe.drifted) {
        // Nothing the plan depends on changed since the review: the work ran in the round trip that took the lock.
        const answers = underLock(sent.rest.work, shell);
        if (work && answers) cleanedUp = await work.finish(answers);
        else result.outcome = "unchanged";
      } else {
        stopIfInterrupted(effects.interrupt, "before any file moved: nothing was changed");
        at.step = "reading the server again under the lock";
        // What is compared with the reviewed plan is hashes, modes and owners: the contents were read for the review.
        const state = await stateFromProbe(effects.transport, files, folders, probe, { sudo: env.server.useSudo, contents: false });
        cleanedUp = await applyLocked(input, effects, shell, replanUnderLock(input, files, state), applyId, result, at, due);
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
      await unlockAfter(shell, env.server.stateDir, [incomingDir(env.server.stateDir, applyId)], due, result).catch((error: unknown) => {
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
function replanUnderLock(input: ApplyInput, files: RenderedFile[], state: HostState): LockedPlan {
  const { reviewed } = input;
  const host = planChanges(input.envName, files, input.folders, [{ host: reviewed.host, roles: reviewed.roles, state }]).hosts[0]!;
  const drifted = driftFromReview(reviewed, host);
  if (drifted) {
    throw new GenError(`the server or the environment changed since the plan was made; nothing was changed on ${reviewed.host}`, {
      details: [...drifted.map((e) => `${e.path}: no longer as planned`), `Run gen diff ${input.envName} again and review the new plan.`],
    });
  }
  return { host, ...(state.applied ? { applied: state.applied } : {}), ...(state.accounts ? { accounts: state.accounts } : {}) };
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
 * digest and plans exactly what was reviewed (a saved plan is checked against a read made just before: when they
 * differ, the server is read again under the lock in a round trip of its own, and the apply refuses there, naming the
 * files). Its lock is gone: under this apply's own, it is not read. Its preflight takes the accounts it checks
 * (`needed`) as there: the probe that takes the lock finds whether they are, and stops the round trip when one is not.
 */
function reviewedRead(input: ApplyInput): { digest: string; needed: AccountNames; current: LockedPlan } | undefined {
  const read = input.read;
  if (!read || driftFromReview(input.reviewed, read.host)) return undefined;
  const { lock: _theirs, ...host } = read.host;
  const needed = preflightAccounts(host);
  const there = (names: string[]) => new Map(names.map((name) => [name, true]));
  const accounts = { users: there(needed.users), groups: there(needed.groups) };
  return { digest: read.digest, needed, current: { host, ...(read.applied ? { applied: read.applied } : {}), accounts } };
}

function leftovers(input: ApplyInput, shell: ServerShell): TypedStep<string[]> {
  return leftoversStep(
    shell,
    input.environment.server.stateDir,
    input.rendered.map((f) => f.path),
  );
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
  current: LockedPlan,
  applyId: string,
  result: HostApplyResult,
  at: UnderWay,
  due: { leftovers?: TypedStep<string[]> } = {},
): Promise<boolean> {
  const work = lockedWork(input, effects, shell, current, applyId, result, at);
  if (!work) {
    result.outcome = "unchanged";
    return false;
  }
  work.sending();
  const first = due.leftovers;
  delete due.leftovers;
  const [recovered, answers] = await runStep(shell, chain(attempt(optional(first)), work.chain));
  if (first) result.recovered = orThrow(recovered) ?? [];
  return work.finish(underLock(answers === SKIPPED ? SKIPPED : { ok: true, value: answers }, shell));
}

/** The clean-up and unlock, after the leftovers still `due` (whose failure fails the apply, as it would have before). */
async function unlockAfter(
  shell: ServerShell,
  stateDir: string,
  workDirs: string[],
  due: { leftovers?: TypedStep<string[]> },
  result: HostApplyResult,
): Promise<void> {
  if (!due.leftovers) return cleanUpAndUnlock(shell, stateDir, workDirs);
  const [recovered, failure] = await runSteps(shell, [attempt(due.leftovers), cleanUpStep(shell, stateDir, workDirs)]);
  delete due.leftovers;
  if (recovered.ok) result.recovered = recovered.value;
  else if (!result.error) {
    result.outcome = "failed";
    result.error = recovered.error;
  }
  if (failure) throw failure;
}

/** What the round trip that took the lock brought back: whose lock it replaced, and the read, the leftovers and the work. */
interface OneChain {
  replaced?: string;
  rest: {
    probe: Parsed<[ProbeOutput]>;
    leftovers: Parsed<string[]> | Skipped;
    work: Parsed<ResultOf<LockedWork["chain"]> | undefined> | Skipped;
  };
}

/**
 * The lock taken by the probe that reads the server again (root_files.py's locked-probe, as apply --yes takes it),
 * checked there against the review's digest and the accounts `work` takes as there, then the leftovers of an
 * interrupted apply, and `work`: one round trip. A digest that differs, or such an account missing, fails the probe's
 * step once the lock is taken, so neither the leftovers nor `work` run and the lock stays held for the caller to make the
 * plan again from what the probe found. A lock held by someone else throws as takeLock does (one left by a dead run of
 * this user here is taken over: the round trip is sent again).
 */
async function lockAndWork(
  input: ApplyInput,
  effects: ApplyEffects,
  shell: ServerShell,
  read: { files: RenderedFile[]; folders: FolderSpec[]; digest: string; needed: AccountNames },
  work: LockedWork | undefined,
): Promise<OneChain> {
  const env = input.environment;
  const stateDir = env.server.stateDir;
  const holder = holderOf("apply", effects);
  const owner = lockOwner(env);
  const probe = lockingProbeRequest(effects.transport, read.files, read.folders, stateDir, false, { expected: read.digest, needed: read.needed });
  return lockedRoundTrip(shell, holder, input.forceUnlock, async (force) => {
    const [[lock, probed], recovered, done] = await runStep(
      shell,
      chain(lockGuarding(shell, stateDir, holder, force, owner, [], probe), attempt(leftovers(input, shell)), attempt(optional(work?.chain))),
    );
    return [lock, { probe: probed, leftovers: recovered, work: done }] as const;
  });
}

function applyIdFor(now: Date, pid: number): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${pid}`;
}
