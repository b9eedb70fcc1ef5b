// Validate: a loaded environment and its rendered files in; the problems between files (pure cross-checks) and,
// when asked, the verdicts of the real tools (nginx, visudo, systemd-analyze, logrotate, python3) out.
// Effects: the tool checks run programs on temporary copies; nothing else is written.
import type { Environment } from "../../schema/index.js";
import type { LoadedEnvironment } from "../load/load-environment.js";
import type { RenderResult } from "../render/render-environment.js";
import type { Issue } from "../types.js";
import { runCrossChecks } from "./cross-checks.js";
import { evaluatePythonSettings, runToolChecks, type ToolCheckContext, type ToolReport } from "./tools/index.js";
import { isDeepStrictEqual } from "node:util";
import { djangoSettings } from "../render/settings.js";
import { resolveSecretValues } from "../secrets/index.js";

export interface ValidationResult {
  issues: Issue[];
  toolReports: ToolReport[];
}

export async function validateEnvironment(loaded: LoadedEnvironment, rendered: RenderResult, options: { runTools: boolean }): Promise<ValidationResult> {
  const issues = runCrossChecks({ source: loaded.file, environment: loaded.environment, files: rendered.files, folders: rendered.manifest.folders });
  if (!options.runTools) return { issues, toolReports: [] };
  const [toolReports, settingsReport] = await Promise.all([
    runToolChecks(rendered.files, toolCheckContext(loaded.environment)),
    checkSettingsValues(loaded, rendered),
  ]);
  return { issues, toolReports: settingsReport ? [...toolReports, settingsReport] : toolReports };
}

/** settings_local.py, run by python3, must give exactly the values the environment describes. */
async function checkSettingsValues(loaded: LoadedEnvironment, rendered: RenderResult): Promise<ToolReport | undefined> {
  const file = rendered.files.find((f) => f.kind === "python-settings");
  if (!file) return undefined;
  const report = { tool: "python3 values" as const, files: [file.path] };
  let values: Record<string, unknown>;
  try {
    values = await evaluatePythonSettings(file.content);
  } catch (error) {
    const message = (error as Error).message;
    return { ...report, status: message.includes("not found") ? "not-run" : "failed", messages: [`evaluating settings: ${message}`] };
  }
  const expected = Object.fromEntries(djangoSettings(loaded.environment).map(([name, value]) => [name, resolveSecretValues(value, loaded.secrets.lookup)]));
  const wrong = Object.keys({ ...expected, ...values }).filter((name) => !isDeepStrictEqual(values[name], expected[name]));
  return wrong.length === 0
    ? { ...report, status: "passed", messages: ["values evaluate to the environment's settings"] }
    : { ...report, status: "failed", messages: wrong.map((name) => `${name} evaluates differently from the environment's value`) };
}

export function toolCheckContext(env: Environment): ToolCheckContext {
  const { server } = env;
  const commands = [
    env.gunicorn.command,
    ...(env.celery ? [env.celery.command] : []),
    ...env.release.install,
    ...env.release.tasks,
    ...(env.release.migrations ? [env.release.migrations] : []),
  ].map((argv) => argv[0]!);
  return {
    users: unique(["root", server.deployUser, server.webUser, server.sshUser]),
    groups: unique(["root", server.deployGroup, server.webGroup]),
    deployBinaries: unique(commands.filter((c) => c.startsWith("/"))),
    externalUnits: server.systemServices.map((s) => `${s}.service`),
    certificateDomains: env.nginx.tls ? [env.app.domain] : [],
    sudoersUser: env.sudoers.user,
    sudoersAllowedCommands: sudoCommands(env),
  };
}

/**
 * The command lines the sudoers drop-in must allow, and no others: `systemctl <verb> <unit>`, nothing that takes
 * a path (the release step needs no root chown: see the ownership model in the README).
 */
export function sudoCommands(env: Environment): string[] {
  return env.sudoers.rules.flatMap((rule) => rule.verbs.map((verb) => `${env.server.systemctl} ${verb} ${rule.service}`));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
