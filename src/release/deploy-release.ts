// Release: a checked local commit and built front end in; a new live release on the server out (steps 4-9).
// Effects: through the transport as the deploy user. A failure before the switch removes the half-made release
// and leaves `current` alone; a failed restart switches back to the previous release and restarts again. An
// interrupt (interrupt.ts) before the switch stops before the next command and removes the release, the live one
// staying; once `current` switched, the deploy finishes (restarts, smoke checks, switched back if they fail) and only
// pruning is left out.
//
// Round trips, each a chain that stops at its first failure: (1) the lock, and under it the live release read and
// the new release's folder made (when its id, the UTC second, was taken by a deploy that ended within that second:
// one more, at the next second); (2) the backend fetched, then the environment's first command; one more for each
// further command (a signal is looked at before each, so none starts after it), gen's own steps riding with the
// next; (3) what is left of them (migrations.json, the front end made readable, deployment.json), the switch, the
// restarts, the smoke checks, and the releases listed for pruning; (4) the old releases (or the half-made one)
// removed, the log appended and the lock released. The upload connection opens with the lock's round trip and the
// front end goes up while the commands run.
import { setTimeout as sleep } from "node:timers/promises";
import type { Environment } from "../../schema/index.js";
import { cleanupWarning, type CleanupWarning } from "../server/cleanup-warning.js";
import { takeLock } from "../server/lock.js";
import { holderOf } from "../server/lock-holder.js";
import { serverShell, type ServerShell } from "../server/server-shell.js";
import { errorMessage, GenError } from "../errors.js";
import { InterruptedError, stopIfInterrupted, type Interrupt } from "../interrupt.js";
import { orThrow, type Parsed } from "../transport/step-records.js";
import { endRelease } from "./release-end.js";
import type { Transport } from "../transport/transport.js";
import { attempt, chain, chainEach, each, optional, runStep, SKIPPED, type TypedStep } from "../transport/typed-steps.js";
import {
  createReleaseStep,
  deploymentJsonStep,
  lazyUploads,
  publicFolderStep,
  releaseTakenError,
  removeReleaseStep,
  type ReleaseOutput,
  type ReleaseSource,
  type Uploads,
} from "./build-release.js";
import type { CommitInfo } from "./local-checks.js";
import { buildRelease, type Built } from "./release-build.js";
import { describeCheckLines, failedChecks, smokeCheckSpec, smokeChecksStep, type CheckResult } from "./smoke-checks.js";
import {
  liveReleaseStep,
  planPrune,
  readRestarts,
  releaseIdFor,
  releasesWithLogSteps,
  removeReleasesStep,
  restartSteps,
  switchCurrentStep,
  type ReleaseLogEntry,
} from "./releases.js";

export const TOTAL_STEPS = 9;

export interface DeployInput {
  environment: Environment;
  commit: CommitInfo;
  source: ReleaseSource;
  /** The front end's build output; null without a front end (public/ then holds deployment.json alone). */
  frontend: { dir: string; files: string[] } | null;
  restartCelery: boolean;
  forceUnlock: boolean;
  /** The host's roles: the smoke checks ask web hosts for Gunicorn and nginx, worker hosts for Celery. */
  roles: string[];
}

export interface StepReporter {
  start: (step: number, title: string) => void;
  done: (step: number, seconds: number) => void;
  output: ReleaseOutput;
}

export interface DeployEffects {
  transport: Transport;
  now: () => Date;
  who: string;
  pid: number;
  report: StepReporter;
  /** A stop request (SIGINT...): checked before each command until `current` switches. */
  interrupt?: Interrupt;
  /** The host's upload connection, already opening (deployHosts starts it with the configuration step); else opened here. */
  uploads?: Uploads;
}

export interface DeployResult {
  release: string;
  /** The release live before this deploy: what a failed restart or smoke check switches back to. */
  previous?: string;
  /** Once deployed: the newest good release before this one (release-history.ts), which `gen rollback` goes to. */
  previousGood?: string;
  /** "interrupted": stopped before the switch; the release was removed, the one live before still is. */
  outcome: "deployed" | "failed" | "rolled-back" | "interrupted";
  /** The signal that came while this host was being deployed to: its outcome says what it then did. */
  interrupted?: string;
  failedStep?: number;
  removedReleases: string[];
  /** Releases past release.keep that pruning kept because processes still use them. */
  keptInUse?: { id: string; pids: number[] }[];
  checks: CheckResult[];
  steps: { step: number; title: string; seconds: number }[];
  error?: GenError;
  /** The release log or the lock the deploy could not write or release at its end (the command exits 1). */
  warnings?: CleanupWarning[];
}

export async function deployRelease(input: DeployInput, effects: DeployEffects): Promise<DeployResult> {
  stopIfInterrupted(effects.interrupt, "before this host was started: nothing was changed on it");
  try {
    return await deploySteps(input, effects);
  } finally {
    effects.interrupt?.doing(undefined);
  }
}

async function deploySteps(input: DeployInput, effects: DeployEffects): Promise<DeployResult> {
  const uploads = effects.uploads ?? lazyUploads(() => effects.transport.openUploader());
  // Opened while the lock is taken: the upload starts as soon as the release folder is there.
  if (input.frontend || input.source.kind === "archive") uploads.start();
  try {
    return await deployLocked(input, effects, uploads);
  } finally {
    await uploads.close();
  }
}

/** What `current` leads to, as far as gen knows: the release live before, the new one, or unknown (a round trip lost). */
type Current = "old" | "new" | "unknown";

async function deployLocked(input: DeployInput, effects: DeployEffects, uploads: Uploads): Promise<DeployResult> {
  const env = input.environment;
  const stop = (what: string) => () => stopIfInterrupted(effects.interrupt, what);
  const shell = serverShell(effects.transport, env, { sudo: false });
  let release = releaseIdFor(effects.now());
  let releaseDir = `${env.paths.releases}/${release}`;
  const result: DeployResult = { release, outcome: "failed", removedReleases: [], checks: [], steps: [] };
  const step = stepRunner(effects, result);
  const holder = holderOf("deploy", effects);
  const taken = await step(4, "lock", () =>
    takeLock(shell, env.server.stateDir, holder, input.forceUnlock, undefined, [lockedFirstSteps(shell, env, releaseDir)]),
  );
  let made = false;
  let current: Current = "old";
  let ended = false;
  /** The last round trip (once): `remove` (the half-made release, or old ones), the log, the lock. */
  const end = async (entry: ReleaseLogEntry, remove?: TypedStep<unknown>): Promise<Parsed<unknown> | undefined> => {
    ended = true;
    const { removed, warnings } = await endRelease(shell, env, entry, remove);
    if (warnings.length > 0) result.warnings = warnings;
    return removed;
  };
  const logEntry = (outcome: ReleaseLogEntry["result"]): ReleaseLogEntry => {
    const entry = { at: effects.now().toISOString(), who: effects.who, command: "deploy" as const, release, commit: input.commit.hash, result: outcome };
    return result.error ? { ...entry, error: result.error.message } : entry;
  };
  try {
    const [[live, first, firstPublic]] = orThrow(taken.guarded);
    let created = first;
    let madePublic = firstPublic;
    made = created !== SKIPPED && created.ok && created.value === "made";
    const previous = orThrow(live);
    if (previous) result.previous = previous;
    if (created !== SKIPPED && created.ok && created.value === "taken") {
      // Release ids are UTC seconds: a deploy that ended within this second took this one. The next is made under the
      // lock already held, in one more round trip, only when that happens.
      await nextSecond(effects.now);
      stop("before the release was made: nothing was changed")();
      release = releaseIdFor(effects.now());
      releaseDir = `${env.paths.releases}/${release}`;
      result.release = release;
      [created, madePublic] = await runStep(shell, releaseFolderSteps(shell, env, releaseDir));
      made = created.ok && created.value === "made";
    }
    let build: Built | undefined;
    await step(5, `build release ${release}`, async () => {
      // mkdir, not mkdir -p: a folder that already exists belongs to another release and is never removed here.
      if (created === SKIPPED) throw new GenError(`internal error: the release folder was not made on ${effects.transport.describe}`);
      if (orThrow(created) === "taken") throw releaseTakenError(release, effects.transport.describe);
      if (madePublic === SKIPPED) throw new GenError(`internal error: the public folder was not made on ${effects.transport.describe}`);
      orThrow(madePublic);
      build = await buildRelease(shell, input, effects.report.output, releaseDir, uploads, stop("before the switch: the half-made release was removed"));
      // The last point where stopping leaves the live release as it is: past it, the deploy is finished.
      stop("before the switch: the release was removed")();
    });
    const { own, serverCommit } = build!;
    const info = { commit: input.commit, serverCommit, deployedAt: effects.now().toISOString(), release };
    const smoke = smokeCheckSpec(env, { roles: input.roles, celery: input.restartCelery, root: effects.transport.root });
    const restart = { celery: input.restartCelery, roles: input.roles };
    current = "unknown";
    const [[finished, switched, restarts, checks], listed] = await step(6, `switch ${env.paths.current} to ${release}`, () =>
      runStep(
        shell,
        each([
          chain(
            attempt(chainEach([...own, deploymentJsonStep(shell, env, releaseDir, info)])),
            attempt(switchCurrentStep(shell, env, release)),
            restartSteps(shell, env, restart),
            attempt(optional(smoke.order.length > 0 ? smokeChecksStep(shell, env, smoke) : undefined)),
          ),
          // Listed once the restarts ran, as pruning has always seen them: what still runs in an old release.
          attempt(releasesWithLogSteps(shell, env)),
        ]),
      ),
    );
    if (!finished.ok) {
      current = "old";
      result.failedStep = 5;
      throw finished.error;
    }
    if (switched === SKIPPED || !switched.ok) {
      current = "old";
      result.failedStep = 6;
      throw switched === SKIPPED ? new GenError("internal error: the switch did not run") : switched.error;
    }
    current = "new";
    const onCommand = (shown: string) => effects.report.output.onCommand(`$ sudo ${shown}`);
    try {
      await step(7, "restart services", async () => readRestarts(restarts === SKIPPED ? [] : restarts, onCommand));
    } catch (error) {
      await rollBackSwitch(shell, input, effects, result, "restart failed");
      throw error;
    }
    await step(8, "smoke checks", async () => {
      if (checks === SKIPPED) throw new GenError("internal error: the smoke checks did not run");
      result.checks = orThrow(checks) ?? [];
      for (const check of result.checks) for (const line of describeCheckLines(check)) effects.report.output.onCommand(line);
      const failed = failedChecks(result.checks);
      if (failed.length === 0) return;
      await rollBackSwitch(shell, input, effects, result, `the ${failed.map((c) => c.name).join(", ")} check failed`);
      const journals = failed.flatMap((c) => (c.journal ?? []).map((line) => `${c.name} journal | ${line}`));
      throw new GenError(`smoke check failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}`, { details: journals });
    });
    // No ownership to fix: everything in the release was made by the deploy user (README, "Ownership"). Pruning is the
    // one step an interrupt leaves out once the release is live: the next deploy prunes.
    if (!effects.interrupt?.signal)
      await step(9, `keep ${env.release.keep} releases`, async () => {
        const pruned = listed.ok ? planPrune(listed.value, env.release.keep) : undefined;
        if (pruned && pruned.keptInUse.length > 0) result.keptInUse = pruned.keptInUse;
        if (pruned?.previous) result.previousGood = pruned.previous;
        const remove = pruned && pruned.removed.length > 0 ? removeReleasesStep(shell, env, pruned.removed) : undefined;
        const removed = await end(logEntry("deployed"), remove);
        // A release that passed its smoke checks is deployed: old releases it could not list or remove are a
        // warning (exit 1), as a lock it could not release is, and the next deploy prunes them.
        const failed = !listed.ok ? listed.error : removed && !removed.ok ? removed.error : undefined;
        if (failed) result.warnings = [cleanupWarning("prune", env.paths.releases, failed), ...(result.warnings ?? [])];
        else result.removedReleases = pruned?.removed ?? [];
      });
    result.outcome = "deployed";
  } catch (error) {
    result.error = error instanceof GenError ? error : new GenError(errorMessage(error), { cause: error });
    const still = result.previous ? `; ${result.previous} is still live` : "";
    if (error instanceof InterruptedError) {
      result.outcome = "interrupted";
      result.error = new InterruptedError(error.signal, `${error.message}${still}`);
    } else if (effects.interrupt?.signal && (result.failedStep ?? 0) <= 5) {
      // A command that failed once a signal came, before the switch, most likely failed of that signal (the
      // terminal's, when it reached a command between its fork and its own session): the same end as a stop.
      const { signal } = effects.interrupt;
      const removed = made ? "the half-made release was removed" : "nothing was changed";
      result.outcome = "interrupted";
      result.error = new InterruptedError(signal, `interrupted (${signal}) before the switch: ${removed}${still}`, [
        result.error.message,
        ...result.error.details,
      ]);
    }
  } finally {
    // Step 9 (the prune) ends the deploy itself and never fails it. An interrupted deploy is a failed one for the log:
    // its release is gone.
    if (!ended) {
      const outcome = result.outcome === "interrupted" ? "failed" : result.outcome;
      await end(logEntry(outcome), made && current === "old" ? removeReleaseStep(shell, releaseDir) : undefined);
    }
  }
  if (effects.interrupt?.signal) result.interrupted = effects.interrupt.signal;
  return result;
}

/**
 * Under the lock, in its round trip: where `current` leads (the release a failure switches back to), then the new
 * release's folder and its public folder. Each read as a value, so that the caller knows whether the folder was made.
 */
function lockedFirstSteps(shell: ServerShell, env: Environment, releaseDir: string) {
  return chain(attempt(liveReleaseStep(shell, env)), attempt(createReleaseStep(shell, releaseDir)), attempt(publicFolderStep(shell, env, releaseDir)));
}

/** lockedFirstSteps' folders again, for a release id taken by the time the lock's round trip ran. */
function releaseFolderSteps(shell: ServerShell, env: Environment, releaseDir: string) {
  return chain(attempt(createReleaseStep(shell, releaseDir)), attempt(publicFolderStep(shell, env, releaseDir)));
}

/**
 * Until the clock's next whole second, looked at again after each wait: a timer can end a few ms before the clock says
 * it should (Node starts it from the event loop's time, read before the code that sets it ran). At most 1.5 s: a clock
 * standing still or going back never gets there.
 */
async function nextSecond(now: () => Date): Promise<void> {
  const second = Math.floor(now().getTime() / 1000);
  const giveUp = performance.now() + 1500;
  while (Math.floor(now().getTime() / 1000) === second && performance.now() < giveUp) await sleep(1000 - now().getUTCMilliseconds());
}

/** Back to the release live before, restarted, in one round trip; a failed restart of it is said, not thrown. */
async function rollBackSwitch(shell: ServerShell, input: DeployInput, effects: DeployEffects, result: DeployResult, why: string): Promise<void> {
  if (!result.previous) return;
  const out = effects.report.output;
  out.onCommand(`${why}: switching back to ${result.previous}`);
  const restart = { celery: input.restartCelery, roles: input.roles };
  // A switch back that fails throws (its parser names it): nothing is restarted then.
  const [, restarts] = await runStep(
    shell,
    chain(switchCurrentStep(shell, input.environment, result.previous), restartSteps(shell, input.environment, restart)),
  );
  try {
    readRestarts(restarts === SKIPPED ? [] : restarts, (shown) => out.onCommand(`$ sudo ${shown}`));
  } catch (error) {
    out.onCommand(`restarting ${result.previous} failed too: ${errorMessage(error)}`);
  }
  result.outcome = "rolled-back";
}

function stepRunner(effects: DeployEffects, result: DeployResult) {
  return async <T>(number: number, title: string, work: () => Promise<T>): Promise<T> => {
    effects.report.start(number, title);
    effects.interrupt?.doing(`step ${number}/${TOTAL_STEPS}: ${title}`);
    const started = Date.now();
    try {
      return await work();
    } catch (error) {
      result.failedStep = number;
      throw error;
    } finally {
      const seconds = (Date.now() - started) / 1000;
      result.steps.push({ step: number, title, seconds });
      effects.report.done(number, seconds);
    }
  };
}
