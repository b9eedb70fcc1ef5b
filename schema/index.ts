export { EnvironmentInputSchema, type EnvironmentInput, type ParsedEnvironment, type Role } from "./environment.js";
export { resolveEnvironment, type Environment } from "./resolve.js";
export { defineBase, defineEnvironment, secret, type EnvironmentDefinition } from "./define.js";
export { SecretRefSchema, type SecretRef, type PythonValue } from "./primitives.js";
