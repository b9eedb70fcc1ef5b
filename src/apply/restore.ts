// Undoing a failed apply: the inverse of what it did, in one round trip. Units it created are stopped, cleared of a
// failed state and disabled while their files are still there (systemd cannot disable a unit whose file is gone,
// and keeps listing a removed unit that had failed), every moved file is put
// back, systemd reloads, and whatever the apply had restarted or reloaded is restarted or reloaded again on the old
// files. No command stops the others: each one's outcome is reported, and so is every file that could not be put back.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import { parseRootFiles, rootFilesStep } from "../server/root-files.js";
import { visibleText } from "../server/server-text.js";
import { outputLines, type ServerShell, type StepOutput } from "../server/server-shell.js";
import { each, optional, runSteps, type TypedStep } from "../transport/typed-steps.js";
import type { HandlerAnswer } from "./handler-steps.js";
import { type HandlerStep, restartSteps, stepArgv } from "./handlers.js";
import type { Installed } from "./install.js";

export interface RestoreOutcome {
  /** Each file put back: "path", or "path (removed, it was new)". */
  restored: string[];
  /** The commands run to undo the apply's effects on the services, as shown. */
  undone: string[];
  /** What could not be undone: files not put back, commands that failed. Empty when the server is as it was. */
  problems: string[];
}

/** The undo plan: handler steps before and after putting the files back. */
export function undoSteps(
  env: Environment,
  entries: PlanEntry[],
  installed: Installed[],
  attempted: HandlerStep[],
): { before: HandlerStep[]; after: HandlerStep[] } {
  const units = (paths: Installed[]) =>
    paths.filter((i) => entries.some((e) => e.path === i.path && e.kind === "systemd-unit")).map((i) => posix.basename(i.path));
  const created = units(installed.filter((i) => i.backup === undefined));
  // Units systemd never loaded (the apply stopped before its daemon-reload) have nothing to stop or disable.
  const loaded = attempted.some((s) => s.action === "daemon-reload") ? created : [];
  const enabled = attempted.flatMap((s) => (s.action === "enable" ? s.units : [])).filter((u) => loaded.includes(u));
  const before: HandlerStep[] = [
    ...[...loaded].reverse().flatMap((unit): HandlerStep[] => [
      { action: "stop", unit },
      { action: "reset-failed", unit },
    ]),
    ...(enabled.length > 0 ? [{ action: "disable" as const, units: enabled }] : []),
  ];
  const restarted = attempted.flatMap((s) => (s.action === "restart" || s.action === "start" ? [s.unit] : [])).filter((u) => !created.includes(u));
  const reloaded = attempted.flatMap((s) => (s.action === "reload" ? [s.unit] : []));
  const after: HandlerStep[] = [
    ...(units(installed).length > 0 ? [{ action: "daemon-reload" as const }] : []),
    ...(reloaded.includes("nginx.service") ? [{ action: "nginx-test" as const }] : []),
    ...reloaded.map((unit): HandlerStep => ({ action: "reload", unit })),
    ...restartSteps(restarted, env),
  ];
  return { before, after };
}

/**
 * Runs the undo plan and the restore program in one round trip, every step whatever the others did. `handlerStep`
 * turns a handler into the step apply runs for it (with its wait for a release).
 */
export async function restoreAfterFailure(
  shell: ServerShell,
  env: Environment,
  plan: { before: HandlerStep[]; after: HandlerStep[] },
  installed: Installed[],
  handlerStep: (step: HandlerStep) => TypedStep<HandlerAnswer>,
): Promise<RestoreOutcome> {
  const services = [...plan.before, ...plan.after];
  const [undone, restoring, redone] = await runSteps(shell, [
    each(plan.before.map(handlerStep)),
    optional(installed.length > 0 ? restoreStep(shell, installed) : undefined),
    each(plan.after.map(handlerStep)),
  ]);
  const restored = restoring?.restored ?? [];
  const problems = [
    ...installed.filter((i) => !restored.some((r) => r === i.path || r.startsWith(`${i.path} (`))).map((i) => `${i.path}: NOT restored`),
    ...(restoring?.problems ?? []),
    ...[...undone, ...redone].flatMap((answer) =>
      answer.exitCode === 0
        ? []
        : [`\`${stepArgv(answer.step, env).join(" ")}\` failed (exit ${answer.exitCode})`, ...answer.lines.slice(-30).map((l) => `  ${visibleText(l)}`)],
    ),
  ];
  return { restored, undone: services.map((s) => stepArgv(s, env).join(" ")), problems };
}

/** Every file of this apply put back in one step: each one restored (or removed, it was new), and what went wrong. */
function restoreStep(shell: ServerShell, installed: Installed[]): TypedStep<{ restored: string[]; problems: string[] }> {
  const step = rootFilesStep(shell, "restoring the files", { op: "restore", files: installed });
  return {
    ...step,
    parse: (run) => ({
      ok: true,
      value: { restored: restoredFiles(shell, run), problems: run.exitCode !== 0 ? outputLines(run).filter((l) => !l.startsWith("{")) : [] },
    }),
  };
}

function restoredFiles(shell: ServerShell, run: StepOutput): string[] {
  const parsed = parseRootFiles(`restoring the files on ${shell.transport.describe}`, run.stdout);
  if (!parsed.ok) return [];
  return parsed.value.flatMap((record) => {
    if (record.kind === "restored") return [record.path];
    if (record.kind === "removed") return [`${record.path} (removed, it was new)`];
    return [];
  });
}
