// Release: a checked local commit and built front end in; a new live release on the server out (steps 4-8).
// Effects: through the transport as the deploy user. A failure before the switch removes the half-made release
// and leaves `current` alone; a failed restart switches back to the previous release and restarts again. An
// interrupt (interrupt.ts) before the switch stops before the next command and removes the release, the live one
// staying; once `current` switched, the deploy finishes (restarts, smoke checks, switched back if they fail) and only
// pruning is left out.
import type { Environment } from "../../schema/index.js";
import { warnOnFailure, type CleanupWarning } from "../server/cleanup-warning.js";
import { lockDir, releaseLock, takeLock } from "../server/lock.js";
import { serverShell, type ServerShell } from "../server/server-shell.js";
import { errorMessage, GenError } from "../errors.js";
import { InterruptedError, stopIfInterrupted, type Interrupt } from "../interrupt.js";
import type { Transport } from "../transport/transport.js";
import { runStep } from "../transport/typed-steps.js";
import {
  createReleaseStep,
  fetchBackend,
  installBackend,
  publicFolderStep,
  removeReleaseStep,
  runReleaseTasks,
  lazyUploads,
  uploadFrontend,
  writeDeploymentJson,
  type ReleaseOutput,
  type ReleaseSource,
} from "./build-release.js";
import type { CommitInfo } from "./local-checks.js";
import { recordMigrations } from "./migrations.js";
import { describeCheckLines, failedChecks, runSmokeChecks, smokeCheckSpec, type CheckResult } from "./smoke-checks.js";
import { appendReleaseLog, liveRelease, pruneReleases, releaseIdFor, releaseLogPath, restartServices, switchCurrent } from "./releases.js";

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
  const env = input.environment;
  const stop = (what: string) => () => stopIfInterrupted(effects.interrupt, what);
  const shell = serverShell(effects.transport, env, { sudo: false });
  const release = releaseIdFor(effects.now());
  const releaseDir = `${env.paths.releases}/${release}`;
  const result: DeployResult = { release, outcome: "failed", removedReleases: [], checks: [], steps: [] };
  const step = stepRunner(effects, result);

  await step(4, "lock", () =>
    takeLock(shell, env.server.stateDir, { who: effects.who, command: "deploy", since: effects.now().toISOString(), pid: effects.pid }, input.forceUnlock),
  );
  try {
    const previous = await liveRelease(shell, env);
    if (previous) result.previous = previous;
    stop("before the release was made: nothing was changed")();
    await step(5, `build release ${release}`, async () => {
      // mkdir, not mkdir -p: a folder that already exists belongs to another release and is never removed here.
      await runStep(shell, createReleaseStep(shell, releaseDir));
      try {
        await buildRelease(shell, input, effects, releaseDir, release, stop("before the switch: the half-made release was removed"));
        // The last point where stopping leaves the live release as it is: past it, the deploy is finished.
        stop("before the switch: the release was removed")();
      } catch (error) {
        await runStep(shell, removeReleaseStep(shell, releaseDir));
        throw error;
      }
    });
    await step(6, `switch ${env.paths.current} to ${release}`, () => switchCurrent(shell, env, release));
    try {
      await step(7, "restart services", () =>
        restartServices(shell, env, { celery: input.restartCelery, roles: input.roles }, (shown) => effects.report.output.onCommand(`$ sudo ${shown}`)),
      );
    } catch (error) {
      await rollBackSwitch(shell, input, effects, result, "restart failed");
      throw error;
    }
    await step(8, "smoke checks", async () => {
      result.checks = await runSmokeChecks(shell, env, smokeCheckSpec(env, { roles: input.roles, celery: input.restartCelery, root: effects.transport.root }));
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
        const pruned = await pruneReleases(shell, env, env.release.keep);
        result.removedReleases = pruned.removed;
        if (pruned.keptInUse.length > 0) result.keptInUse = pruned.keptInUse;
        if (pruned.previous) result.previousGood = pruned.previous;
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
      const removed = result.failedStep === 5 ? "the half-made release was removed" : "nothing was changed";
      result.outcome = "interrupted";
      result.error = new InterruptedError(signal, `interrupted (${signal}) before the switch: ${removed}${still}`, [
        result.error.message,
        ...result.error.details,
      ]);
    }
  } finally {
    // A release that passed its smoke checks is deployed even when pruning after it failed: the log says so, with
    // the error, so that it still counts as good (release-history.ts).
    // An interrupted deploy is a failed one for the log: its release is gone.
    const outcome = result.outcome === "failed" && result.failedStep === 9 ? "deployed" : result.outcome === "interrupted" ? "failed" : result.outcome;
    const entry = { at: effects.now().toISOString(), who: effects.who, command: "deploy" as const, release, commit: input.commit.hash, result: outcome };
    const logged = await warnOnFailure("log", releaseLogPath(env), () =>
      appendReleaseLog(shell, env, result.error ? { ...entry, error: result.error.message } : entry),
    );
    const unlocked = await warnOnFailure("unlock", lockDir(env.server.stateDir), () => releaseLock(shell, env.server.stateDir));
    if (logged.length + unlocked.length > 0) result.warnings = [...logged, ...unlocked];
  }
  if (effects.interrupt?.signal) result.interrupted = effects.interrupt.signal;
  return result;
}

/** `stop` throws once gen was asked to stop: called before each command, so none starts after. */
async function buildRelease(
  shell: ServerShell,
  input: DeployInput,
  effects: DeployEffects,
  releaseDir: string,
  release: string,
  stop: () => void,
): Promise<void> {
  const env = input.environment;
  const out = effects.report.output;
  const uploads = lazyUploads(effects.transport);
  try {
    const serverCommit = await fetchBackend(shell, env, releaseDir, input.source, out, uploads);
    await installBackend(shell, env, releaseDir, out, stop);
    await runReleaseTasks(shell, env, releaseDir, out, stop);
    stop();
    await recordMigrations(shell, env, releaseDir, out.onCommand);
    if (input.frontend) await uploadFrontend(shell, uploads, env, releaseDir, { dir: input.frontend.dir, total: input.frontend.files.length }, out, stop);
    else await runStep(shell, publicFolderStep(shell, env, releaseDir));
    stop();
    await writeDeploymentJson(shell, env, releaseDir, { commit: input.commit, serverCommit, deployedAt: effects.now().toISOString(), release });
  } finally {
    await uploads.close();
  }
}

async function rollBackSwitch(shell: ServerShell, input: DeployInput, effects: DeployEffects, result: DeployResult, why: string): Promise<void> {
  if (!result.previous) return;
  effects.report.output.onCommand(`${why}: switching back to ${result.previous}`);
  await switchCurrent(shell, input.environment, result.previous);
  await restartServices(shell, input.environment, { celery: input.restartCelery, roles: input.roles }, (shown) =>
    effects.report.output.onCommand(`$ sudo ${shown}`),
  ).catch((error: unknown) => {
    effects.report.output.onCommand(`restarting ${result.previous} failed too: ${errorMessage(error)}`);
  });
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
