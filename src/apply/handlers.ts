// Handlers: which systemd and nginx actions a set of changed files calls for, each at most once and in an order
// that works (daemon-reload before restarts, nginx -t before its reload). Derived from the manifest; pure.
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import { restartOrder, workerUnits } from "../render/unit-relations.js";

export type HandlerStep =
  | { action: "daemon-reload" }
  | { action: "enable" | "disable"; units: string[] }
  | { action: "nginx-test" }
  | { action: "reload" | "stop"; unit: string }
  /** Clears a unit's failed state, so a unit removed after it failed does not stay listed as failed. */
  | { action: "reset-failed"; unit: string }
  /** `release`: the folder the unit runs in; while it does not exist (before the first deploy) the step is skipped. */
  | { action: "restart" | "start"; unit: string; release?: string };

/** Only content, link and new files call handlers; a mode or owner fix restarts nothing. */
function triggers(entry: PlanEntry): boolean {
  return entry.action === "create" || entry.changes.includes("content") || entry.changes.includes("link");
}

/**
 * `roles`: a host runs only its roles' services; a worker-only host never reloads nginx or restarts Gunicorn, even
 * for an extra file that names them.
 */
export function handlerSteps(entries: PlanEntry[], env: Environment, roles: string[]): HandlerStep[] {
  const foreign = foreignUnits(env, roles);
  const steps = handlerStepsForAllRoles(entries, env);
  return steps
    .map((s) => (s.action === "enable" ? { ...s, units: s.units.filter((u) => !foreign.has(u)) } : s))
    .filter((s) => !("unit" in s && foreign.has(s.unit)) && !(s.action === "nginx-test" && foreign.has("nginx.service")))
    .filter((s) => s.action !== "enable" || s.units.length > 0);
}

/** The units of the roles a host does not have. */
export function foreignUnits(env: Environment, roles: string[]): Set<string> {
  const byRole: Record<string, string[]> = {
    web: ["nginx.service", `${env.gunicorn.service}.socket`, `${env.gunicorn.service}.service`, `${env.gunicorn.handoverService}.service`],
    worker: workerUnits(env),
  };
  return new Set(
    Object.entries(byRole)
      .filter(([role]) => !roles.includes(role))
      .flatMap(([, units]) => units),
  );
}

function handlerStepsForAllRoles(entries: PlanEntry[], env: Environment): HandlerStep[] {
  const changed = entries.filter(triggers);
  const steps: HandlerStep[] = [];
  const units = changed.filter((e) => e.kind === "systemd-unit");
  if (units.length > 0) {
    steps.push({ action: "daemon-reload" });
    steps.push({ action: "enable", units: enabledUnits(env).filter((u) => units.some((e) => e.path.endsWith(`/${u}`))) });
  }
  const reloads = unique(changed.flatMap((e) => e.handlers.reload));
  if (reloads.includes("nginx.service")) steps.push({ action: "nginx-test" });
  for (const unit of reloads) steps.push({ action: "reload", unit });
  steps.push(
    ...restartSteps(
      changed.flatMap((e) => e.handlers.restart),
      env,
    ),
  );
  return steps;
}

/** Each unit restarted at most once, required units first (restartOrder); units of a release wait for one. */
export function restartSteps(units: string[], env: Environment): HandlerStep[] {
  return restartOrder(units, env).map(({ unit, verb, release }) => ({ action: verb, unit, ...(release ? { release } : {}) }));
}

/** The units started at boot: the gunicorn socket (the service is socket-activated) and the Celery services. */
export function enabledUnits(env: Environment): string[] {
  return [`${env.gunicorn.service}.socket`, ...workerUnits(env)];
}

export function stepArgv(step: HandlerStep, env: Environment): string[] {
  const systemctl = env.server.systemctl;
  switch (step.action) {
    case "daemon-reload":
      return [systemctl, "daemon-reload"];
    case "enable":
      return [systemctl, "enable", ...step.units];
    case "nginx-test":
      return env.server.nginxTest;
    case "disable":
      return [systemctl, "disable", ...step.units];
    case "reload":
    case "restart":
    case "start":
    case "stop":
    case "reset-failed":
      return [systemctl, step.action, step.unit];
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
