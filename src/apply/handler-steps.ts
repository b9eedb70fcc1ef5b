// The handlers as steps of the host's session (apply's, and the undo of a failed apply's), and what their answers
// say: each one ran, waits for the first release, failed with the unit's words, or was recorded, not run, by a host
// that stands in for a server (the sandbox: sandbox-transport.ts).
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { outputLines, type ServerShell } from "../server/server-shell.js";
import { serviceCommandScript, WAITS_FOR_RELEASE } from "../server/service-commands.js";
import { visibleText } from "../server/server-text.js";
import { SKIPPED, type Skipped, type TypedStep } from "../transport/typed-steps.js";
import { type HandlerStep, stepArgv } from "./handlers.js";

/**
 * A handler's answer: its status and output lines, whether its unit waits for a release that does not exist yet, and
 * whether the host only recorded it.
 */
export interface HandlerAnswer {
  step: HandlerStep;
  exitCode: number;
  lines: string[];
  waits: boolean;
  recorded: boolean;
}

/**
 * A handler as a step. Restarts, starts and reloads are service commands (service-commands.ts): a unit that runs
 * in a release is left alone while the release folder does not exist, Gunicorn restarts through its handover.
 */
export function handlerStep(shell: ServerShell, step: HandlerStep, env: Environment): TypedStep<HandlerAnswer> {
  const argv = stepArgv(step, env);
  const parse: TypedStep<HandlerAnswer>["parse"] = (run) => ({
    ok: true,
    value: {
      step,
      exitCode: run.exitCode,
      lines: outputLines(run),
      waits: run.exitCode === 0 && "unit" in step && run.stdout.includes(WAITS_FOR_RELEASE),
      recorded: run.notRun,
    },
  });
  const handler = { name: `\`${argv.join(" ")}\``, serverOnly: { record: { argv, why: "apply" } }, parse };
  if (step.action === "restart" || step.action === "start" || step.action === "reload") {
    const command = { verb: step.action, unit: step.unit, ...("release" in step && step.release ? { release: step.release } : {}) };
    return { ...handler, script: serviceCommandScript({ env, sudo: false, path: shell.path }, command) };
  }
  // A unit systemd no longer has loaded has no failed state to clear.
  if (step.action === "reset-failed") return { ...handler, script: `${argv.map(shell.quote).join(" ")} >/dev/null 2>&1; exit 0` };
  return { ...handler, script: `exec ${argv.map(shell.quote).join(" ")} 2>&1` };
}

export interface HandlersRun {
  /**
   * In order: each handler that ran, as shown, each one the host only recorded, and each unit whose restart waits for
   * the first release.
   */
  done: ({ ran: string } | { recorded: string } | { waits: string })[];
  /** The handlers that were tried, the failed one included (what a restore undoes). */
  attempted: HandlerStep[];
  error?: GenError;
}

/** Reads a chain of handlers: the ones that ran, and the first failure (the unit's words: escaped, bounded). */
export function handlersRun(host: string, env: Environment, answers: (HandlerAnswer | Skipped)[] | Skipped): HandlersRun {
  const run: HandlersRun = { done: [], attempted: [] };
  for (const answer of answers === SKIPPED ? [] : answers) {
    if (answer === SKIPPED) break;
    run.attempted.push(answer.step);
    if (answer.recorded) {
      run.done.push({ recorded: stepArgv(answer.step, env).join(" ") });
      continue;
    }
    if (answer.waits && "unit" in answer.step) {
      run.done.push({ waits: answer.step.unit });
      continue;
    }
    const shown = stepArgv(answer.step, env).join(" ");
    run.done.push({ ran: shown });
    if (answer.exitCode !== 0) {
      // Gunicorn's handover prints its unit's journal (the application's words) when it fails.
      run.error = new GenError(`\`${shown}\` failed on ${host} (exit ${answer.exitCode})`, { details: answer.lines.slice(-30).map(visibleText) });
      break;
    }
  }
  return run;
}
