// Python source for JSON-like values: strings are escaped so no value can end a literal or start a statement.
import type { PythonValue, SecretRef } from "../../schema/index.js";

export type SecretLookup = (ref: SecretRef) => string;

/** Exactly {secret} or {secret, default}: any other object is data, even with a "secret" key. */
export function isSecretRef(value: unknown): value is SecretRef {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return typeof (value as { secret?: unknown }).secret === "string" && keys.every((k) => k === "secret" || k === "default");
}

export function pythonString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === "\\") out += "\\\\";
    else if (char === '"') out += '\\"';
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** A Python literal; containers longer than one line are written one item per line. */
export function pythonLiteral(value: PythonValue, lookup: SecretLookup, indent = 0): string {
  if (isSecretRef(value)) return pythonString(lookup(value));
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${value} has no Python literal`);
    return Number.isInteger(value) ? value.toFixed(0) : String(value);
  }
  if (typeof value === "string") return pythonString(value);
  const items = Array.isArray(value)
    ? value.map((item) => pythonLiteral(item, lookup, indent + 4))
    : Object.keys(value).map((key) => `${pythonString(key)}: ${pythonLiteral(value[key]!, lookup, indent + 4)}`);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  const oneLine = `${open}${items.join(", ")}${close}`;
  if (oneLine.length + indent <= 88 && !oneLine.includes("\n")) return oneLine;
  const pad = " ".repeat(indent + 4);
  return `${open}\n${items.map((item) => `${pad}${item},`).join("\n")}\n${" ".repeat(indent)}${close}`;
}
