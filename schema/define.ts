// What an environment file imports. Kept free of runtime dependencies: environment files are bundled on load.
import type { EnvironmentInput } from "./environment.js";
import type { SecretRef } from "./primitives.js";

type DeepPartial<T> = T extends (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** A complete environment, or (with `extends`) the overrides on top of another environment file. */
export type EnvironmentDefinition = (EnvironmentInput & { extends?: undefined }) | (DeepPartial<EnvironmentInput> & { extends: string });

export function defineEnvironment<T extends EnvironmentDefinition>(definition: T): T {
  return definition;
}

/** A value read at run time from the process environment or environments/<name>.secrets.env, never stored here. */
export function secret(variable: string, options: { default?: string } = {}): SecretRef {
  return options.default === undefined ? { secret: variable } : { secret: variable, default: options.default };
}
