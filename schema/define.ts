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

/** A value read at run time from the process environment or environments/<name>.secrets.env, never stored here. */
export function secret(variable: string, options: { default?: string } = {}): SecretRef {
  return options.default === undefined ? { secret: variable } : { secret: variable, default: options.default };
}
