// Apply: the reviewed plan of one host in; the server changed to match it, or left as it was, out.
// Effects: everything on the server goes through the transport: lock, preflight, folders, staged files checked
// with the real tools, atomic renames with backups, handlers, the record and log. Any failure after files moved
// restores them and runs the handlers again, so the server is never left half-applied.
import type { Environment } from "../../schema/index.js";
import { ConnectionLostError, errorMessage, GenError } from "../errors.js";
import { filesForRoles, planChanges, unrecordedEntries } from "../plan/plan-changes.js";
import type { HostPlan, PlanEntry } from "../plan/plan-types.js";
import { readServerState } from "../plan/server-state.js";
import type { Transport } from "../transport/transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { handlerSteps, stepArgv, type HandlerStep } from "./handlers.js";
import { backupDir, installStaged, restoreInstalled, type Installed } from "./install.js";
import { linkRefusal, refusedLink } from "./link-safe.js";
import { takeLock } from "./lock.js";
import { changedEntries, foldersScript, runPreflight } from "./preflight.js";
import { appendLog, cleanUpAndUnlock, removeLeftovers, writeRecord, type ApplyLogEntry } from "./record.js";
import { outputLines, serverShell, type ServerShell } from "./server-shell.js";
import { checkStaged } from "./check-staged.js";
import { incomingDir, prepareIncomingScript, removeStaged, stageFiles, stagingFailed } from "./stage.js";

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
}

export interface HostApplyResult {
  host: string;
  outcome: "applied" | "failed" | "unchanged";
  changed: string[];
  handlers: string[];
  restored: string[];
  recovered: string[];
  /** Files an interrupted apply had already put in place, finished now (handlers run, record written). */
  finished?: string[];
  lockReplaced?: string;
  error?: GenError;
}

/** The step under way, named when the connection drops during it. */
interface Step {
  step: string;
}

export async function applyPlan(input: ApplyInput, effects: ApplyEffects): Promise<HostApplyResult> {
  const at: Step = { step: "taking the lock" };
  try {
    return await applySteps(input, effects, at);
  } catch (error) {
    throw lostDuring(error, at);
  }
}

/** A lost connection names the step it interrupted; the transport's message names the host and the operation. */
function lostDuring(error: unknown, at: Step): unknown {
  return error instanceof ConnectionLostError ? new GenError(`while ${at.step}: ${error.message}`, { cause: error }) : error;
}

async function applySteps(input: ApplyInput, effects: ApplyEffects, at: Step): Promise<HostApplyResult> {
  const { environment: env, reviewed } = input;
  const shell = serverShell(effects.transport, env);
  const result: HostApplyResult = { host: reviewed.host, outcome: "failed", changed: [], handlers: [], restored: [], recovered: [] };
  const applyId = applyIdFor(effects.now(), effects.pid);
  const lock = await takeLock(shell, env.server.stateDir, { who: effects.who, command: "apply", since: effects.now().toISOString(), pid: effects.pid }, input.forceUnlock, { user: env.server.deployUser, group: env.server.deployGroup });
  if (lock.replaced) result.lockReplaced = lock.replaced;
  try {
    at.step = "removing the leftovers of an interrupted apply";
    result.recovered = await removeLeftovers(shell, env.server.stateDir, input.rendered.map((f) => f.path));
    at.step = "reading the server again under the lock";
    const current = await replanUnderLock(input, effects.transport);
    await applyLocked(input, effects, shell, current, applyId, result, at);
  } catch (error) {
    const named = lostDuring(error, at);
    result.error = named instanceof GenError ? named : new GenError(errorMessage(named), { cause: named });
    await appendLog(shell, env.server.stateDir, logEntry(applyId, effects, reviewed, changedEntries(reviewed), result)).catch(() => {});
  } finally {
    at.step = "releasing the lock";
    await cleanUpAndUnlock(shell, env.server.stateDir, [incomingDir(env.server.stateDir, applyId)]).catch((error: unknown) => {
      // The lock stays on the server: the next apply stops at it, so this one must not end as a success.
      if (!(error instanceof ConnectionLostError) || result.error) return;
      result.outcome = "failed";
      result.error = new GenError(`${result.changed.length ? "the files were applied, but " : ""}while ${at.step}: ${error.message}`, {
        cause: error,
        details: [`gen's lock may still be held on ${reviewed.host}: the next apply takes it over with --force-unlock`],
      });
    });
  }
  return result;
}

/** The server is read again once the lock is held: what is applied is exactly what was reviewed, or nothing. */
async function replanUnderLock(input: ApplyInput, transport: Transport): Promise<{ host: HostPlan; applied?: Record<string, string> }> {
  const { reviewed, environment: env } = input;
  const files = filesForRoles(input.rendered, reviewed.roles);
  const state = await readServerState(transport, files, filesForRoles(input.folders, reviewed.roles), env.server.stateDir, { sudo: env.server.useSudo });
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

async function applyLocked(input: ApplyInput, effects: ApplyEffects, shell: ServerShell, current: { host: HostPlan; applied?: Record<string, string> }, applyId: string, result: HostApplyResult, at: Step): Promise<void> {
  const { environment: env } = input;
  const host = current.host;
  const entries = changedEntries(host);
  const unfinished = unrecordedEntries(host);
  if (entries.length === 0 && unfinished.length === 0 && host.folders.every((f) => f.action === "unchanged")) {
    result.outcome = "unchanged";
    return;
  }
  result.finished = unfinished.map((e) => e.path);
  at.step = "running the preflight checks";
  const problems = await runPreflight(shell, env, host);
  if (problems.length > 0) throw new GenError(`preflight found ${problems.length} problem${problems.length === 1 ? "" : "s"} on ${host.host}; nothing was changed`, { details: problems });
  at.step = "preparing the folders";
  const folders = await shell.script([foldersScript(shell, host), prepareIncomingScript(shell, env, applyId)].filter(Boolean).join("\n"));
  const link = refusedLink(folders.stdout);
  if (link !== undefined) throw new GenError(`apply stopped on ${host.host}: ${linkRefusal(link)}`);
  if (folders.exitCode !== 0) throw new GenError(`preparing the folders failed on ${effects.transport.describe} (exit ${folders.exitCode})`, { details: outputLines(folders) });
  const rendered = new Map(input.rendered.map((f) => [f.path, f]));
  if (entries.length > 0) effects.progress(`${host.host}: staging ${entries.length} file${entries.length === 1 ? "" : "s"}`);
  at.step = "staging the files";
  const staged = entries.length > 0 ? await stageFiles(shell, env, entries, rendered, applyId) : [];
  const installedUnits = host.entries.filter((e) => e.kind === "systemd-unit" && e.action === "unchanged").map((e) => e.path);
  at.step = "checking the staged files";
  const failures = await checkStaged(shell, env, staged, applyId, installedUnits);
  if (failures.length > 0) {
    await removeStaged(shell, staged);
    throw stagingFailed(host.host, failures);
  }
  const backups = backupDir(env.server.stateDir, applyId);
  at.step = "installing the files";
  const { installed, error: installError } = await installStaged(shell, staged, backups);
  result.changed = installed.map((i) => i.path);
  if (installError) return rollBack(shell, env, entries, installed, staged, result, installError, effects, at, host.roles);
  // Files an interrupted apply already moved into place still need their handlers.
  const steps = handlerSteps([...entries, ...unfinished.map((e) => ({ ...e, action: "change" as const, changes: ["content" as const] }))], env, host.roles);
  at.step = "running the handlers";
  const handlerError = await runHandlers(shell, env, steps, result, effects);
  if (handlerError) return rollBack(shell, env, entries, installed, staged, result, handlerError, effects, at, host.roles);
  at.step = "writing the record";
  await writeRecord(shell, env.server.stateDir, incomingDir(env.server.stateDir, applyId), host.entries.filter((e) => e.action !== "unreadable"), current.applied, logEntry(applyId, effects, host, entries, result), env.server.backupsKept);
  result.outcome = "applied";
}

/** All handlers in one round trip, in order, stopping at the first that fails. */
async function runHandlers(shell: ServerShell, env: Environment, steps: HandlerStep[], result: HostApplyResult, effects: ApplyEffects): Promise<GenError | undefined> {
  if (steps.length === 0) return undefined;
  const commands = steps.map((step) => stepArgv(step, env));
  const script = commands.map((argv, i) => `echo '==step ${i}=='\n${argv.map(shell.quote).join(" ")} 2>&1 || { echo "==failed ${i} $?=="; exit 0; }`).join("\n");
  const run = await shell.script(script);
  const ran = [...run.stdout.matchAll(/^==step (\d+)==$/gm)].map((m) => Number(m[1]));
  for (const i of ran) {
    effects.progress(`${result.host}: ${commands[i]!.join(" ")}`);
    result.handlers.push(commands[i]!.join(" "));
  }
  const failed = /^==failed (\d+) (\d+)==$/m.exec(run.stdout);
  if (failed) {
    const i = Number(failed[1]);
    const output = run.stdout.split(`==step ${i}==\n`)[1]?.split(`==failed ${i}`)[0]?.trim() ?? "";
    return new GenError(`\`${commands[i]!.join(" ")}\` failed on ${result.host} (exit ${failed[2]})`, { details: output ? output.split("\n") : [] });
  }
  if (run.exitCode !== 0 || ran.length !== commands.length) {
    return new GenError(`running the handlers failed on ${result.host} (exit ${run.exitCode})`, { details: outputLines(run) });
  }
  return undefined;
}

async function rollBack(shell: ServerShell, env: Environment, entries: PlanEntry[], installed: Installed[], staged: { staged: string; entry: PlanEntry }[], result: HostApplyResult, cause: GenError, effects: ApplyEffects, at: Step, roles: string[]): Promise<void> {
  at.step = "restoring the files after a failure";
  await removeStaged(shell, staged);
  result.restored = await restoreInstalled(shell, installed);
  const restoredEntries = entries.filter((e) => installed.some((i) => i.path === e.path));
  const again: HostApplyResult = { ...result, handlers: [] };
  const handlerError = await runHandlers(shell, env, handlerSteps(restoredEntries, env, roles), again, effects);
  const details = [...cause.details, `restored: ${result.restored.join(", ") || "nothing"}`, ...(handlerError ? [`after restoring, ${handlerError.message}`, ...handlerError.details] : [])];
  throw new GenError(`${cause.message}; every file of this apply was restored`, { details });
}

function applyIdFor(now: Date, pid: number): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${pid}`;
}

function logEntry(id: string, effects: ApplyEffects, host: HostPlan, entries: PlanEntry[], result: HostApplyResult): ApplyLogEntry {
  return {
    id,
    who: effects.who,
    at: effects.now().toISOString(),
    host: host.host,
    outcome: result.error || result.restored.length ? "failed" : "applied",
    files: entries.map((e) => ({ path: e.path, ...(e.current ? { old: e.current.sha256 } : {}), new: e.desired.sha256 })),
    restored: result.restored,
    ...(result.error ? { error: result.error.message } : {}),
  };
}
