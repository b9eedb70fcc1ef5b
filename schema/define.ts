// What an environment file imports. Kept free of runtime dependencies: environment files are bundled on load.
import type { EnvironmentInput } from "./environment.js";
import type { SecretRef } from "./primitives.js";

type DeepPartial<T> = T extends (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** A complete environment, or (with `extends`: another environment's name or "preset:<name>") the overrides on top of it. */
export type EnvironmentDefinition = (EnvironmentInput & { extends?: undefined }) | (DeepPartial<EnvironmentInput> & { extends: string });

/** Not generic on purpose: a misspelled or unknown key is then an excess property that tsc reports. */
export function defineEnvironment(definition: EnvironmentDefinition): EnvironmentDefinition {
  return definition;
}

/** A base that is only ever extended, never rendered alone (gen's preset:django): any part of a definition, checked as one. */
export function defineBase(definition: DeepPartial<EnvironmentInput> & { extends?: undefined }): EnvironmentDefinition {
  return definition as EnvironmentDefinition;
}

/**
 * A value read at run time, never stored here: from the process environment, environments/<name>.secrets.env, or
 * else the standard output of `command` (a password manager: `["pass", "show", "prod/db"]`), run without a shell.
 */
export function secret(variable: string, options: { default?: string; command?: string[] } = {}): SecretRef {
  return {
    secret: variable,
    ...(options.default === undefined ? {} : { default: options.default }),
    ...(options.command === undefined ? {} : { command: options.command }),
  };
}
