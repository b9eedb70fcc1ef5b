// Secret references in an environment's data ({secret: NAME}, with a default or a command): the one walker over
// them, which finds them and replaces them. Pure.
import type { SecretRef } from "../../schema/index.js";

/** Resolves a secret reference to its value (or, for what is shown, to its placeholder). */
export type SecretLookup = (ref: SecretRef) => string;

export interface SecretReference {
  /** Dotted path of the field holding the reference, e.g. postgres.password. */
  field: string;
  ref: SecretRef;
}

const REF_KEYS = new Set(["secret", "default", "command"]);

/** Exactly {secret} with an optional default or command: any other object is data, even with a "secret" key. */
export function isSecretRef(value: unknown): value is SecretRef {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { secret, command } = value as { secret?: unknown; command?: unknown };
  return typeof secret === "string" && (command === undefined || Array.isArray(command)) && Object.keys(value).every((k) => REF_KEYS.has(k));
}

/** A copy of value with each secret reference replaced by visit(ref, path); all other data is kept. */
export function mapSecretRefs(value: unknown, visit: (ref: SecretRef, path: string[]) => unknown, path: string[] = []): unknown {
  if (isSecretRef(value)) return visit(value, path);
  if (Array.isArray(value)) return value.map((item, i) => mapSecretRefs(item, visit, [...path, String(i)]));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapSecretRefs(item, visit, [...path, key])]));
  }
  return value;
}

/** Every reference in value, in the order the fields are written; `path` is where value itself sits. */
export function findSecretReferences(value: unknown, path: string[] = []): SecretReference[] {
  const found: SecretReference[] = [];
  mapSecretRefs(
    value,
    (ref, at) => {
      found.push({ field: at.join("."), ref });
      return ref;
    },
    path,
  );
  return found;
}

/** A value as Python (or a template) sees it: every secret reference replaced by lookup(ref). */
export function resolveSecretValues(value: unknown, lookup: SecretLookup): unknown {
  return mapSecretRefs(value, (ref) => lookup(ref));
}

/**
 * An extra file's template variables: a variable that is itself a reference is replaced by lookup(ref); a reference
 * nested deeper is passed as the reference object (its name, never its value), as gen has always done.
 */
export function resolveTemplateVars(vars: Record<string, unknown>, lookup: SecretLookup): Record<string, unknown> {
  return Object.fromEntries(Object.entries(vars).map(([key, value]) => [key, isSecretRef(value) ? lookup(value) : value]));
}
