// Deep merge of an environment over its base: objects merge key by key, arrays and scalars replace, and so does a
// secret reference: secret("NEW") over the base's secret("OLD", { default }) is NEW alone, never NEW with OLD's default.
import { isSecretRef } from "../secrets/index.js";

export function mergeDefinitions(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override) || isSecretRef(base) || isSecretRef(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = key in base ? mergeDefinitions(base[key], value) : value;
  }
  return merged;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
