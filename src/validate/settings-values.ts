import type { PythonValue } from "../../schema/index.js";
import { isSecretRef, type SecretLookup } from "../load/secrets.js";

/** A setting's value as Python would see it: secret references replaced by their values. */
export function resolveSecretValues(value: PythonValue, lookup: SecretLookup): unknown {
  if (isSecretRef(value)) return lookup(value);
  if (Array.isArray(value)) return value.map((item) => resolveSecretValues(item, lookup));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSecretValues(v, lookup)]));
  return value;
}
