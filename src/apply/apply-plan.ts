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
import type { Step, Transport } from "../transport/transport.js";
import type { Sandbox } from "../transport/sandbox.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { handlerSteps, stepArgv, type HandlerStep } from "./handlers.js";
import { restoreAfterFailure, undoSteps } from "./restore.js";
import { backupDir, installOutcome, installStep, type Installed } from "./install.js";
import { linkRefusal, parseFolderStep } from "../server/link-safe.js";
import { orThrow } from "../transport/step-records.js";
import { serviceCommandScript, WAITS_FOR_RELEASE } from "../server/service-commands.js";
import { visibleText } from "../server/server-text.js";
import { cleanupWarning, warnOnFailure, type CleanupWarning } from "../server/cleanup-warning.js";
import { lockDir, takeLock } from "../server/lock.js";
import { changedEntries, foldersScript, preflightProblems, preflightStep } from "./preflight.js";
import {
  appendLog,
  applyLogPath,
  cleanUpAndUnlock,
  cleanUpStep,
  leftoversStep,
  parseLeftovers,
  recordFailure,
  recordStep,
  type ApplyLogEntry,
} from "../server/applied-record.js";
import { outputLines, serverShell, type ServerShell, type StepOutput } from "../server/server-shell.js";
import { checkCopies, checkFailures, checkSteps, stagingRejections } from "./check-staged.js";
import { incomingDir, prepareIncomingScript, removeStaged, stageStep, stagingFailed, stagingOutcome } from "./stage.js";

export interface ApplyInput {
  envName: string;
  environment: Environment;
  /** The plan of this host as the operator reviewed it. */
  reviewed: HostPlan;
  rendered: RenderedFile[];
  folders: FolderSpec[];
  forceUnlock: boolean;
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
  stopIfInterrupted(effects.interrupt, "before this host was started: nothing was changed on it");
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
  // Once the lock is taken, in the same round trip: the leftovers of an interrupted apply go, the server is read again.
  const underLock = [
    leftoversStep(
      shell,
      env.server.stateDir,
      input.rendered.map((f) => f.path),
    ),
    ...probeRequest(effects.transport, files, folders, env.server.stateDir, true),
  ];
  const lock = await takeLock(
    shell,
    env.server.stateDir,
    { who: effects.who, command: "apply", since: effects.now().toISOString(), pid: effects.pid },
    input.forceUnlock,
    { user: env.server.deployUser, group: env.server.deployGroup },
    underLock,
  );
  if (lock.replaced) result.lockReplaced = lock.replaced;
  let cleanedUp = false;
  try {
    const [leftovers, ...probe] = lock.guarded;
    result.recovered = parseLeftovers(leftovers!);
    stopIfInterrupted(effects.interrupt, "before any file moved: nothing was changed");
    at.step = "reading the server again under the lock";
    // What is compared with the reviewed plan is hashes, modes and owners: the contents were read for the review.
    const state = await stateFromProbe(effects.transport, files, folders, probe, { sudo: env.server.useSudo, contents: false });
    const current = replanUnderLock(input, files, state);
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
  const { staged, step: staging } = stageStep(shell, entries, rendered, applyId, (staged) => checkCopies(env, staged, installedUnits, rendered, applyId));
  const { checks, steps: checking } = checkSteps(shell, env, staged, applyId);
  // One round trip: preflight (fails when it finds a problem), folders, staging chained; then every check, each run
  // once staging succeeded.
  at.step = "running the preflight checks, preparing the folders, staging and checking the files";
  const folderScript = [foldersScript(shell, host), prepareIncomingScript(shell, env, applyId)].filter(Boolean).join("\n");
  const prepare = [preflightStep(shell, env, host), { name: "preparing the folders", script: folderScript }, ...(entries.length > 0 ? [staging] : [])];
  const [preflight, folders, stagingRun, ...checkRuns] = await shell.steps([
    ...prepare.map((step, i) => ({ ...step, afterSuccess: i > 0 })),
    ...(entries.length > 0 ? checking : []),
  ]);
  at.step = "running the preflight checks";
  const problems = preflightProblems(shell, preflight!);
  if (problems.length > 0)
    throw new GenError(`preflight found ${problems.length} problem${problems.length === 1 ? "" : "s"} on ${host.host}; nothing was changed`, {
      details: problems,
    });
  at.step = "preparing the folders";
  const { link } = orThrow(parseFolderStep(`preparing the folders on ${effects.transport.describe}`, folders!.stdout));
  if (link !== undefined) throw new GenError(`apply stopped on ${host.host}: ${linkRefusal(link)}`);
  if (folders!.exitCode !== 0)
    throw new GenError(`preparing the folders failed on ${effects.transport.describe} (exit ${folders!.exitCode})`, { details: outputLines(folders!) });
  at.step = "staging the files";
  if (entries.length > 0) effects.progress(`${host.host}: staging ${entries.length} file${entries.length === 1 ? "" : "s"}`);
  if (stagingRun) await stagingOutcome(shell, staged, stagingRun);
  at.step = "checking the staged files";
  const failures = [...stagingRejections(stagingRun), ...checkFailures(checks, checkRuns)];
  if (failures.length > 0) {
    await removeStaged(shell, staged);
    throw stagingFailed(host.host, failures);
  }
  // The last point where stopping changes no file: past it, the install's round trip goes out and is finished.
  if (effects.interrupt?.signal) {
    at.step = "removing the staged files";
    await removeStaged(shell, staged);
    stopIfInterrupted(effects.interrupt, "before any file moved: the staged files were removed, nothing was changed");
  }
  const backups = backupDir(env.server.stateDir, applyId);
  // Files an interrupted apply already moved into place still need their handlers.
  const steps = handlerSteps([...entries, ...unfinished.map((e) => ({ ...e, action: "change" as const, changes: ["content" as const] }))], env, host.roles);
  // The sandbox records service commands instead of running them.
  const run = shell.sandbox ? [] : steps;
  // One chain, one round trip: install, handlers, record, clean-up; the first failure skips the rest (and rolls back).
  const install = entries.length > 0 ? [installStep(shell, staged, backups)] : [];
  const record = recordStep(
    shell,
    env.server.stateDir,
    host.entries.filter((e) => e.action !== "unreadable"),
    current.applied,
    logEntry(applyId, effects, host, entries, result),
    env.server.backupsKept,
  );
  const chain = [...install, ...handlerRequest(shell, run, env), record, cleanUpStep(shell, env.server.stateDir, [incomingDir(env.server.stateDir, applyId)])];
  at.step = "installing the files, running the handlers and writing the record";
  const runs = await shell.steps(chain.map((step, i) => ({ ...step, afterSuccess: i > 0 })));
  const { installed, error: installError } = install.length > 0 ? installOutcome(shell, staged, backups, runs[0]!) : { installed: [] };
  result.changed = installed.map((i) => i.path);
  const failed = (error: GenError, attempted: HandlerStep[]) =>
    rollBack(shell, env, { entries, installed, staged, attempted }, result, error, effects, at).then(() => false);
  if (installError) return failed(installError, []);
  await shell.sandbox?.recordOwners([
    ...host.folders.filter((f) => f.action !== "unchanged"),
    ...entries.filter((e) => installed.some((i) => i.path === e.path)).map((e) => ({ path: e.path, owner: e.desired.owner, group: e.desired.group })),
  ]);
  at.step = "running the handlers";
  const handled = shell.sandbox
    ? await recordInSandbox(shell.sandbox, steps, env, result, effects)
    : handlerOutcome(run, runs.slice(install.length, install.length + run.length), env, result, effects);
  if (handled.error) return failed(handled.error, handled.attempted);
  at.step = "writing the record";
  const [recorded, cleaned] = runs.slice(install.length + run.length);
  const recordError = recordFailure(shell, recorded!);
  if (recordError) throw recordError;
  result.outcome = "applied";
  return cleaned!.exitCode === 0;
}

/** One step per handler, in order, chained: the first that fails stops the rest. */
function handlerRequest(shell: ServerShell, steps: HandlerStep[], env: Environment): Step[] {
  return steps.map((step, i) => ({ ...handlerStep(shell, step, env), afterSuccess: i > 0 }));
}

/**
 * A handler as a step. Restarts, starts and reloads are service commands (service-commands.ts): a unit that runs
 * in a release is left alone while the release folder does not exist, Gunicorn restarts through its handover.
 */
function handlerStep(shell: ServerShell, step: HandlerStep, env: Environment): Step {
  const argv = stepArgv(step, env);
  const name = `\`${argv.join(" ")}\``;
  if (step.action === "restart" || step.action === "start" || step.action === "reload") {
    const command = { verb: step.action, unit: step.unit, ...("release" in step && step.release ? { release: step.release } : {}) };
    return { name, script: serviceCommandScript({ env, sudo: false, path: shell.path }, command) };
  }
  // A unit systemd no longer has loaded has no failed state to clear.
  if (step.action === "reset-failed") return { name, script: `${argv.map(shell.quote).join(" ")} >/dev/null 2>&1; exit 0` };
  return { name, script: `exec ${argv.map(shell.quote).join(" ")} 2>&1` };
}

/** Reports each handler that ran; returns the first failure and the handlers that were tried (the failed one included). */
function handlerOutcome(
  steps: HandlerStep[],
  runs: StepOutput[],
  env: Environment,
  result: HostApplyResult,
  effects: ApplyEffects,
): { error?: GenError; attempted: HandlerStep[] } {
  const attempted: HandlerStep[] = [];
  for (const [i, run] of runs.entries()) {
    if (run.skipped) break;
    const step = steps[i]!;
    attempted.push(step);
    const shown = stepArgv(step, env).join(" ");
    if (run.exitCode === 0 && "unit" in step && run.stdout.includes(WAITS_FOR_RELEASE)) {
      effects.progress(`${result.host}: ${step.unit} not started: there is no release yet (the first gen deploy starts it)`);
      result.notStarted = [...(result.notStarted ?? []), step.unit];
      continue;
    }
    effects.progress(`${result.host}: ${shown}`);
    result.handlers.push(shown);
    if (run.exitCode !== 0)
      // Gunicorn's handover prints its unit's journal (the application's words) when it fails: escaped, bounded.
      return {
        error: new GenError(`\`${shown}\` failed on ${result.host} (exit ${run.exitCode})`, { details: outputLines(run).slice(-30).map(visibleText) }),
        attempted,
      };
  }
  return { attempted };
}

async function recordInSandbox(
  sandbox: Sandbox,
  steps: HandlerStep[],
  env: Environment,
  result: HostApplyResult,
  effects: ApplyEffects,
): Promise<{ error?: GenError; attempted: HandlerStep[] }> {
  const commands = steps.map((step) => stepArgv(step, env));
  if (commands.length > 0) await sandbox.recordCommands(commands, "apply");
  for (const argv of commands) {
    effects.progress(`${result.host}: recorded, not run (sandbox): ${argv.join(" ")}`);
    result.handlers.push(argv.join(" "));
  }
  return { attempted: steps };
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
  const outcome = await restoreAfterFailure(
    shell,
    env,
    plan,
    done.installed,
    (step) => handlerStep(shell, step, env),
    async (steps) => {
      if (shell.sandbox && steps.length > 0)
        await shell.sandbox.recordCommands(
          steps.map((step) => stepArgv(step, env)),
          "apply",
        );
    },
  );
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
