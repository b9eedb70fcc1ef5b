// Options shared by the commands that take an environment, and the load + render step they all start with.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Argv } from "yargs";
import { loadEnvironment, type LoadedEnvironment } from "../load/load-environment.js";
import { GenError } from "../errors.js";
import { packageRoot } from "../paths.js";
import { createRedactor, type Redactor } from "../redact.js";
import { renderEnvironment, type RenderResult } from "../render/render-environment.js";

export const DEFAULT_ENVIRONMENT = "example";

export interface GlobalOptions {
  environments?: string;
  json?: boolean;
  debug?: boolean;
  "show-secrets"?: boolean;
}

export function withEnvironment<T>(yargs: Argv<T>) {
  return yargs.positional("env", {
    describe: `environment name (a file in environments/); default: ${DEFAULT_ENVIRONMENT}, the embedded example`,
    type: "string",
    default: DEFAULT_ENVIRONMENT,
  });
}

/** ./environments when it exists, else the environments shipped with gen. */
export function environmentsDir(options: GlobalOptions): string {
  if (options.environments) return resolve(options.environments);
  const local = resolve("environments");
  return existsSync(local) ? local : resolve(packageRoot, "environments");
}

export interface Prepared {
  loaded: LoadedEnvironment;
  rendered: RenderResult;
  redact: Redactor;
}

/** For commands that never render a file: secret values are neither needed nor read. */
export function loadWithoutSecrets(name: string, options: GlobalOptions): Promise<LoadedEnvironment> {
  return loadEnvironment(name, { environmentsDir: environmentsDir(options), cache: true, secrets: false });
}

export async function loadAndRender(name: string, options: GlobalOptions): Promise<Prepared> {
  const loaded = await loadEnvironment(name, { environmentsDir: environmentsDir(options), cache: true });
  const redact = createRedactor(loaded.secrets.values, options["show-secrets"] ?? false);
  let rendered: RenderResult;
  try {
    rendered = renderEnvironment({ name, environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: loaded.environmentsDir });
  } catch (error) {
    // A template or escaping error may quote the value it refused, and that value may be a secret.
    throw new GenError(`${loaded.file}: ${redact((error as Error).message)}`);
  }
  return { loaded, rendered, redact };
}
