// Options shared by the commands that take an environment, and the load + render step they all start with.
import type { Argv } from "yargs";
import { loadEnvironment, type LoadedEnvironment } from "../load/load-environment.js";
import { GenError } from "../errors.js";
import { findProject, type Project } from "../load/project.js";
import type { RenderResult } from "../render/render-environment.js";
import { placeholderFor } from "../secrets/index.js";
import { SANDBOX_NOTE } from "../transport/sandbox.js";
import { holdBackHeapFor } from "./young-generation.js";
import type { Output } from "./output.js";
import { selectHosts, type HostSelection } from "./host-selection.js";

export const DEFAULT_ENVIRONMENT = "example";

export interface GlobalOptions {
  environments?: string;
  json?: boolean;
  debug?: boolean;
  "show-secrets"?: boolean;
}

/** The options every command takes. */
export function withGlobalOptions<T>(yargs: Argv<T>) {
  return yargs
    .option("environments", {
      type: "string",
      requiresArg: true,
      describe: "folder of environment files (default: the project's environments/; see gen init)",
      global: true,
    })
    .option("json", { type: "boolean", describe: "machine-readable output (errors too)", global: true })
    .option("show-secrets", { type: "boolean", describe: `print secret values instead of ${placeholderFor("NAME")}`, global: true })
    .option("debug", { type: "boolean", describe: "show stack traces of internal errors", global: true });
}

export function withEnvironment<T>(yargs: Argv<T>) {
  return yargs.positional("env", {
    describe: `environment name (a file in your environments folder); default: ${DEFAULT_ENVIRONMENT}, the embedded example`,
    type: "string",
    default: DEFAULT_ENVIRONMENT,
  });
}

/** The user's project: never the environments inside the installed package (see load/project.ts). */
export function project(options: GlobalOptions): Project {
  return findProject(options.environments ? { environments: options.environments } : {});
}

export function environmentsDir(options: GlobalOptions): string {
  return project(options).environmentsDir;
}

/** Commands that reach a server say so, on standard error, when the server is a sandbox folder. */
export function printSandboxNote(output: Output, loaded: LoadedEnvironment): void {
  const env = loaded.environment;
  if (env.server.transport !== "local") return;
  const root = env.server.localRoot ?? `.gen-local/${loaded.name}`;
  output.err(`sandbox: the folder ${root} stands in for the server (no SSH, no root); ${SANDBOX_NOTE} (${root}/.gen-sandbox/)`);
}

export interface Prepared {
  loaded: LoadedEnvironment;
  rendered: RenderResult;
}

/** For commands that never render a file: secret values are neither needed nor read. */
export async function loadWithoutSecrets(name: string, options: GlobalOptions & HostSelection): Promise<LoadedEnvironment> {
  const { environmentsDir, root } = project(options);
  return selectHosts(await loadEnvironment(name, { environmentsDir, projectRoot: root, cache: true, secrets: false }), options);
}

/**
 * `loadedHook` is called once the environment is loaded and valid, before it is rendered (to start connecting). With
 * --hosts or --roles (commands that reach servers), the environment has only the hosts they select.
 * `secretCommands: false` renders a secret only a command gives as its placeholder, without running the command.
 */
export async function loadAndRender(
  name: string,
  options: GlobalOptions & HostSelection,
  loadedHook?: (loaded: LoadedEnvironment) => void | Promise<void>,
  load: { secretCommands?: boolean } = {},
): Promise<Prepared> {
  const { environmentsDir, root, templatesDir } = project(options);
  const loaded = selectHosts(await loadEnvironment(name, { environmentsDir, projectRoot: root, cache: true, onFileCount: holdBackHeapFor, ...load }), options);
  await loadedHook?.(loaded);
  // Loaded here, not with the CLI: a command that connects has started its connections by now (connect-early.ts).
  const { renderEnvironment } = await import("../render/render-environment.js");
  let rendered: RenderResult;
  try {
    rendered = renderEnvironment({
      name,
      environment: loaded.environment,
      secrets: loaded.secrets.lookup,
      environmentsDir: loaded.environmentsDir,
      source: loaded.source,
      ...(templatesDir ? { templateOverrides: templatesDir } : {}),
    });
  } catch (error) {
    // A template or escaping error may quote the value it refused, and that value may be a secret: like all that
    // gen prints, the message is redacted on its way out (output.ts).
    throw new GenError(`${loaded.file}: ${(error as Error).message}`);
  }
  return { loaded, rendered };
}
