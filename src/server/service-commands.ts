// The service commands of apply (as root) and of the release step (as the deploy user, through sudo), as sh
// scripts run on the server. Restarting Gunicorn's service while it runs goes through a handover: a second Gunicorn
// (gunicorn.handoverService) is started on the same socket with the live release, imported, then the service
// restarts, then the second one stops. Connections wait in the socket systemd holds; none is refused or cut, and
// none waits for Gunicorn to start. A release that cannot be imported fails to start the second one, and the
// running service is never touched. Pure.
import type { Environment } from "../../schema/index.js";
import { appUnits, type UnitRestart } from "../render/unit-relations.js";
import { quoteArg } from "../transport/shell-quote.js";

export interface ServiceCommand {
  verb: "restart" | "start" | "reload";
  unit: string;
  /** For a unit that runs in a release: skipped (with a record saying so) while this folder does not exist. */
  release?: string;
}

/** What a service command prints when its unit waits for the first release. */
export const WAITS_FOR_RELEASE = '{"waits":"release"}';

export interface CommandContext {
  env: Environment;
  /** sudo -n before each systemctl (the release step); the drop-in names units without ".service". */
  sudo: boolean;
  /** The server path of the release folder as the session's commands see it (under a test root). */
  path: (serverPath: string) => string;
}

/** The argv of a systemctl call, exactly as the sudoers drop-in names it when run through sudo. */
export function systemctlArgv(context: Pick<CommandContext, "env" | "sudo">, verb: string, unit: string): string[] {
  const name = context.sudo ? unit.replace(/\.service$/, "") : unit;
  return [...(context.sudo ? ["sudo", "-n", "--"] : []), context.env.server.systemctl, verb, name];
}

/** The handover unit of `unit`, when restarting it goes through one (Gunicorn's service). */
export function handoverOf(env: Environment, unit: string): string | undefined {
  const units = appUnits(env);
  return unit === units.gunicorn ? units.handover : undefined;
}

export function serviceCommandScript(context: CommandContext, command: ServiceCommand): string {
  const sh = (verb: string, unit: string) => systemctlArgv(context, verb, unit).map(quoteArg).join(" ");
  const handover = command.verb === "restart" ? handoverOf(context.env, command.unit) : undefined;
  const run = handover
    ? [
        `if ${quoteArg(context.env.server.systemctl)} is-active --quiet ${quoteArg(command.unit)}; then`,
        `  ${sh("start", handover)} 2>&1 || { s=$?; ${sh("status", handover)} 2>&1; exit $s; }`,
        `  ${sh("restart", command.unit)} 2>&1; s=$?`,
        `  ${sh("stop", handover)} 2>&1`,
        "  exit $s",
        "fi",
        `exec ${sh("restart", command.unit)} 2>&1`,
      ].join("\n")
    : `exec ${sh(command.verb, command.unit)} 2>&1`;
  if (command.release === undefined) return run;
  return `if [ -d ${context.path(command.release)} ]; then\n${run}\nfi\nprintf '%s\\n' ${quoteArg(WAITS_FOR_RELEASE)}`;
}

/** How a service command is shown (without sudo): the systemctl call, and the handover when there is one. */
export function describeCommand(context: Pick<CommandContext, "env" | "sudo">, command: ServiceCommand): string {
  const shown = systemctlArgv({ ...context, sudo: false }, command.verb, context.sudo ? command.unit.replace(/\.service$/, "") : command.unit).join(" ");
  const handover = command.verb === "restart" ? handoverOf(context.env, command.unit) : undefined;
  return handover ? `${shown} (${handover.replace(/\.service$/, "")} answers meanwhile)` : shown;
}

export function fromRestartOrder(restarts: UnitRestart[]): ServiceCommand[] {
  return restarts.map(({ unit, verb, release }) => ({ verb, unit, ...(release ? { release } : {}) }));
}
