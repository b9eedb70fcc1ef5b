// Apply over a whole environment (gen apply, and gen deploy's configuration step): the loaded and rendered
// environment in; the plan checked, shown and confirmed through `events`, then applied host by host; the outcome
// out as plain data (one result per host, a failed host's error as a value).
// Effects: one connection per host for the whole run (read, ask, apply over it); a saved plan is read from disk.
import { readFile } from "node:fs/promises";
import { errorMessage, GenError } from "../errors.js";
import type { LoadedEnvironment } from "../load/load-environment.js";
import { inspectEnvironment, type HostReader, type Inspection } from "../plan/inspect-environment.js";
import { planNeedsApply, unrecordedEntries } from "../plan/plan-changes.js";
import type { Plan } from "../plan/plan-types.js";
import { parseSavedPlan, savedPlanConflicts } from "../plan/saved-plan.js";
import type { RenderResult } from "../render/render-environment.js";
import { hostConnections, type ConnectOptions, type HostConnections } from "../transport/open-transport.js";
import type { Issue } from "../types.js";
import type { Interrupts } from "../interrupt.js";
import { runCrossChecks } from "../validate/cross-checks.js";
import { applyHosts, lockHolder, refuseUnreadable } from "./apply-hosts.js";
import { readUnderLock, type HeldLock } from "./locked-read.js";
import type { HostApplyResult, ReviewedRead } from "./apply-plan.js";

export interface EnvironmentApplyInput {
  loaded: LoadedEnvironment;
  rendered: RenderResult;
  options: ConnectOptions;
  /** Connections already started (closed here when the apply ends); opened here when absent. */
  connections?: HostConnections;
  concurrency: number;
  forceUnlock: boolean;
  /** Stop once the plan is known (and shown). */
  dryRun: boolean;
  /** A plan saved by gen diff --out: applied exactly as reviewed, refused when it no longer matches. */
  savedPlanFile?: string;
  /** Signals asking gen to stop: hosts not started are not, the others finish or undo their step (apply-plan.ts). */
  interrupts?: Interrupts;
  /**
   * Nothing will be asked (--yes, no saved plan, no dry run): each host's lock is taken with its first read, and the
   * plan read under it is the one applied (locked-read.ts), one round trip fewer.
   */
  lockWhileReading?: boolean;
}

/** What the operator should know about a host before confirming. */
export type HostNotice = { kind: "lock-held"; host: string; holder: string; takeOver: boolean } | { kind: "unrecorded"; host: string; count: number };

export interface ApplyEvents {
  /** The plan to apply, once known: shown before anything else is said or asked. */
  planned: (plan: Plan, serverFiles: Inspection["serverFiles"]) => void;
  notice: (notice: HostNotice) => void;
  /** Asked once, only when there is something to apply; false applies nothing. */
  confirm: (plan: Plan) => Promise<boolean>;
  /** Lines telling what each host is doing while it applies. */
  progress: (line: string) => void;
}

export type EnvironmentApplyOutcome =
  | { outcome: "invalid"; issues: Issue[] }
  | { outcome: "nothing-to-do" | "dry-run" | "declined"; plan: Plan }
  | { outcome: "applied" | "failed" | "interrupted"; plan: Plan; hosts: HostApplyResult[] };

/**
 * Throws a GenError (nothing applied) when a host cannot be inspected, a file cannot be read or a saved plan no
 * longer matches; a host that fails while applying is a failed result, and the others carry on.
 */
export async function applyEnvironment(input: EnvironmentApplyInput, events: ApplyEvents): Promise<EnvironmentApplyOutcome> {
  const { loaded, rendered } = input;
  const connections = input.connections ?? hostConnections(loaded.environment, input.options);
  // Locks taken with the first read and not yet handed to their host's apply: released here if the apply never starts.
  const held = new Map<string, HeldLock>();
  try {
    const issues = runCrossChecks({ source: loaded.file, environment: loaded.environment, files: rendered.files, folders: rendered.manifest.folders });
    if (issues.length > 0) return { outcome: "invalid", issues };
    const read = input.lockWhileReading && !input.dryRun && !input.savedPlanFile ? lockedReader(input, held) : undefined;
    const inspection = await inspectEnvironment(loaded, rendered.files, rendered.manifest.folders, input.options, input.concurrency, connections, read);
    const plan = input.savedPlanFile ? await reviewedPlan(input.savedPlanFile, input, inspection.plan) : inspection.plan;
    events.planned(plan, inspection.serverFiles);
    const failed = plan.hosts.filter((h) => h.error);
    if (failed.length > 0)
      throw new GenError(`could not inspect ${failed.map((h) => h.host).join(", ")}; nothing was applied`, {
        details: failed.map((h) => `${h.host}: ${h.error}`),
      });
    for (const host of plan.hosts) {
      if (host.lock) events.notice({ kind: "lock-held", host: host.host, holder: host.lock, takeOver: input.forceUnlock });
      const unfinished = unrecordedEntries(host);
      if (unfinished.length) events.notice({ kind: "unrecorded", host: host.host, count: unfinished.length });
    }
    refuseUnreadable(plan, loaded.environment, loaded.name);
    if (!planNeedsApply(plan)) return { outcome: "nothing-to-do", plan };
    if (input.dryRun) return { outcome: "dry-run", plan };
    if (!(await events.confirm(plan))) return { outcome: "declined", plan };
    const hostsInput = {
      envName: loaded.name,
      environment: loaded.environment,
      plan,
      rendered: rendered.files,
      folders: rendered.manifest.folders,
      forceUnlock: input.forceUnlock,
      concurrency: input.concurrency,
      held,
      reads: reviewedReads(plan, inspection),
      ...(input.interrupts ? { interrupts: input.interrupts } : {}),
    };
    const hosts = await applyHosts(hostsInput, input.options, connections, events.progress);
    return {
      outcome: hosts.some((r) => r.outcome === "failed") ? "failed" : hosts.some((r) => r.outcome === "interrupted") ? "interrupted" : "applied",
      plan,
      hosts,
    };
  } finally {
    await releaseHeld(held, events.progress);
    await connections.close();
  }
}

/**
 * Each host's read, for its apply to check on the server, under the lock and in the round trip that installs, that
 * nothing the plan depends on changed since (apply-plan.ts). For a saved plan: the read made now and checked against
 * it, whose plan is the one applied (it holds what the saved plan cannot: gen's record as read).
 */
function reviewedReads(plan: Plan, inspection: Inspection): Map<string, ReviewedRead> {
  const reads = new Map<string, ReviewedRead>();
  for (const host of inspection.plan.hosts) {
    const { digest, applied } = inspection.reads.get(host.host) ?? {};
    if (digest && plan.hosts.some((h) => h.host === host.host)) reads.set(host.host, { digest, host, ...(applied ? { applied } : {}) });
  }
  return reads;
}

function lockedReader(input: EnvironmentApplyInput, held: Map<string, HeldLock>): HostReader {
  const env = input.loaded.environment;
  const managedPaths = input.rendered.files.map((f) => f.path);
  return async (transport, host, files, folders) => {
    // From before the lock is asked for until it is released: a signal then is a request, and the lock is released.
    const interrupt = input.interrupts?.forHost(host.name);
    interrupt?.doing("taking the lock and reading the server");
    try {
      const read = await readUnderLock(transport, files, folders, { env, managedPaths, holder: lockHolder(new Date()), force: input.forceUnlock });
      if (read.held) held.set(host.name, { ...read.held, release: () => read.held!.release().finally(() => interrupt?.doing(undefined)) });
      else interrupt?.doing(undefined);
      return read.state;
    } catch (error) {
      interrupt?.doing(undefined);
      throw error;
    }
  };
}

/** Releases the locks no apply took over (nothing to do, a refusal, an interrupt); one that stays is said. */
async function releaseHeld(held: Map<string, HeldLock>, progress: (line: string) => void): Promise<void> {
  await Promise.all(
    [...held].map(([host, lock]) =>
      lock
        .release()
        .catch((error: unknown) =>
          progress(`${host}: gen's lock could not be released (${errorMessage(error)}): the next apply takes it over with --force-unlock`),
        ),
    ),
  );
  held.clear();
}

/** The saved plan, of the hosts applied now (--hosts may select some of those it was saved for). */
async function reviewedPlan(file: string, input: EnvironmentApplyInput, now: Plan): Promise<Plan> {
  const whole = parseSavedPlan(await readFile(file, "utf8"), file);
  const saved = { ...whole, plan: { ...whole.plan, hosts: whole.plan.hosts.filter((h) => now.hosts.some((n) => n.host === h.host)) } };
  const conflicts = savedPlanConflicts(saved, input.rendered.files, now);
  for (const host of now.hosts) if (!saved.plan.hosts.some((h) => h.host === host.host)) conflicts.push(`${host.host}: not in the saved plan`);
  if (saved.plan.environment !== input.loaded.name) conflicts.unshift(`the plan is for environment ${saved.plan.environment}`);
  if (conflicts.length > 0)
    throw new GenError(`${file} no longer matches; nothing was applied`, {
      details: [...conflicts, `Run gen diff ${input.loaded.name} --out ${file} again and review it.`],
    });
  return saved.plan;
}

/**
 * gen deploy --no-apply: a deploy never runs against configuration that differs from the environment. Throws a
 * GenError when it differs, after `planned` was told the plan, or when a host cannot be inspected or read.
 * `connections`: the release's, when it logs in as the same user (left open for it); else each host's is its own.
 */
export async function refuseDrift(
  input: Pick<EnvironmentApplyInput, "loaded" | "rendered" | "options" | "concurrency" | "connections">,
  planned: ApplyEvents["planned"],
): Promise<void> {
  const { loaded, rendered } = input;
  const inspection = await inspectEnvironment(loaded, rendered.files, rendered.manifest.folders, input.options, input.concurrency, input.connections);
  const failed = inspection.plan.hosts.filter((h) => h.error);
  if (failed.length) throw new GenError("some hosts could not be inspected; nothing was deployed", { details: failed.map((h) => `${h.host}: ${h.error}`) });
  refuseUnreadable(inspection.plan, loaded.environment, loaded.name);
  if (!planNeedsApply(inspection.plan)) return;
  planned(inspection.plan, inspection.serverFiles);
  throw new GenError(`the configuration of ${loaded.name} differs from the environment: run gen apply ${loaded.name} first (or deploy without --no-apply)`);
}
