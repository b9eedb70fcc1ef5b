// What a step tells gen besides its exit status: JSON lines on its stdout, one record each, read by a typed parser
// per step. Records whose values gen knows are written by gen (JSON.stringify, quoted for sh) and only printed by the
// step; a value only the server knows (a lock's holder, a path a glob found) goes through `jsonString` on the server.
// No step needs python3 for this: preflight runs before gen knows it is installed.
import type { $ZodType } from "zod/v4/core";
import { safeParse } from "zod/mini";
import { GenError } from "../errors.js";
import { quoteArg } from "./shell-quote.js";
import { programText } from "../program-text.js";

/** A parser's answer: the typed value, or an error naming the step whose output it could not read. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: GenError };

/** An sh command that prints `record` as one JSON line. */
export function printRecord(record: unknown): string {
  return `printf '%s\\n' ${quoteArg(JSON.stringify(record))}`;
}

/**
 * An sh function, `gen_json "$value"`, that prints a value as a JSON string (quotes, backslashes and newlines
 * escaped, other control characters dropped): json-string.sh beside this module. Put it before the lines that call it.
 */
export function jsonStringFunction(): string {
  return programText(import.meta.url, "./json-string.sh");
}

/** An sh command printing `fixed` with one more field, `key`, whose value is the sh word `word` ("$x") on the server. */
export function printServerRecord(fixed: Record<string, unknown>, key: string, word: string): string {
  const head = `${JSON.stringify(fixed).slice(0, -1)}${Object.keys(fixed).length > 0 ? "," : ""}${JSON.stringify(key)}:`;
  return `{ printf '%s' ${quoteArg(head)}; gen_json ${word}; printf '}\\n'; }`;
}

/** Every line of a step's stdout as a record of `schema`; a line that is not one is an error naming the step. */
export function parseRecords<T>(step: string, stdout: string, schema: $ZodType<T>): Parsed<T[]> {
  const records: T[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return malformed(step, line);
    }
    const checked = safeParse(schema, value);
    if (!checked.success) return malformed(step, line);
    records.push(checked.data);
  }
  return { ok: true, value: records };
}

/** Exactly one record of `schema`. */
export function oneRecord<T>(step: string, run: { stdout: string }, schema: $ZodType<T>): Parsed<T> {
  const parsed = parseRecords(step, run.stdout, schema);
  if (!parsed.ok) return parsed;
  if (parsed.value.length !== 1) return { ok: false, error: new GenError(`${step}: the step printed ${parsed.value.length} records where gen expects one`) };
  return { ok: true, value: parsed.value[0]! };
}

function malformed(step: string, line: string): Parsed<never> {
  const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  return {
    ok: false,
    error: new GenError(`${step}: the step's output is not what gen expects (${JSON.stringify(shown)}); is the server's sh POSIX, with GNU coreutils?`),
  };
}

/** The value, or the parser's error thrown. */
export function orThrow<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
