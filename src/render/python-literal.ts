// Python source for JSON-like values: strings are escaped so no value can end a literal or start a statement.
import type { PythonValue } from "../../schema/index.js";
import { pythonString } from "../python-string.js";
import { resolveSecretValues, type SecretLookup } from "../secrets/index.js";

/** A Python literal, secret references written as their values; containers longer than one line are written one item per line. */
export function pythonLiteral(value: PythonValue, lookup: SecretLookup, indent = 0): string {
  return literal(resolveSecretValues(value, lookup) as PlainValue, indent);
}

type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

function literal(value: PlainValue, indent: number): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${value} has no Python literal`);
    return Number.isInteger(value) ? value.toFixed(0) : String(value);
  }
  if (typeof value === "string") return pythonString(value);
  const items = Array.isArray(value)
    ? value.map((item) => literal(item, indent + 4))
    : Object.keys(value).map((key) => `${pythonString(key)}: ${literal(value[key]!, indent + 4)}`);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  const oneLine = `${open}${items.join(", ")}${close}`;
  if (oneLine.length + indent <= 88 && !oneLine.includes("\n")) return oneLine;
  const pad = " ".repeat(indent + 4);
  return `${open}\n${items.map((item) => `${pad}${item},`).join("\n")}\n${" ".repeat(indent)}${close}`;
}
