// zod issues as one line each: `environments/prod.ts: gunicorn.workers: expected a whole number >= 1, got "five"`.
import { distance } from "fastest-levenshtein";
import type { z } from "zod";

/** With the schema, an unknown field is answered with the closest known one. */
export function formatSchemaIssues(file: string, issues: z.core.$ZodIssue[], schema?: z.ZodType): string[] {
  return issues
    .flatMap((issue) => expand(issue))
    .map((issue) => {
      const field = issue.path.map(String).join(".") || "(top level)";
      const secretAt = schema ? secretFieldDepth(schema, issue.path) : undefined;
      if (secretAt !== undefined) return `${file}: ${field}: ${describeSecretIssue(issue, secretAt)}`;
      const hint = issue.code === "unrecognized_keys" && schema ? `${closestField(schema, issue.path)}${placeHint(issue.path)}` : "";
      return `${file}: ${field}: ${describe(issue)}${hint}`;
    });
}

/**
 * A field that takes only a secret reference (postgres.password, SECRET_KEY) holds what was written there in place
 * of one, most likely the value itself: it is never printed back.
 */
function describeSecretIssue(issue: z.core.$ZodIssue, depth: number): string {
  // The reference's own rule (a command or a default): its message names no value.
  if (issue.code === "custom") return issue.message;
  if (issue.path.length === depth && issue.code !== "unrecognized_keys")
    return 'expected a secret reference, not a value (what is written here is not shown): write secret("NAME") (in YAML or JSON: { secret: NAME }) and set NAME in the process environment or in the environment\'s .secrets.env file, or name the command that prints it: secret("NAME", { command: [...] })';
  if (issue.code === "unrecognized_keys") return 'unknown field of a secret reference: it has only "secret", and "default" or "command"';
  return describe(issue, false);
}

const SECRET_REF_KEYS = ["secret", "default", "command"];

/** How many segments of `path` lead to a field whose schema is a secret reference alone, when one does. */
function secretFieldDepth(schema: z.ZodType, path: PropertyKey[]): number | undefined {
  for (let depth = 1; depth <= path.length; depth++) {
    const keys = knownKeys(schema, path.slice(0, depth));
    if (keys.length === SECRET_REF_KEYS.length && SECRET_REF_KEYS.every((key) => keys.includes(key))) return depth;
  }
  return undefined;
}

/** `; did you mean "gunicorn"?` when a known field of the same object is a likely spelling of the unknown one. */
function closestField(schema: z.ZodType, path: PropertyKey[]): string {
  const unknown = String(path.at(-1));
  const known = knownKeys(schema, path.slice(0, -1));
  const ranked = known.map((key) => ({ key, d: distance(unknown.toLowerCase(), key.toLowerCase()) })).sort((a, b) => a.d - b.d);
  const best = ranked[0];
  if (!best || best.d > Math.max(2, Math.floor(unknown.length / 3))) return known.length ? `; known fields here: ${known.join(", ")}` : "";
  return `; did you mean "${best.key}"?`;
}

/** Where an unknown field most likely belongs, for the places whose fields are a closed list. */
const PLACE_HINTS: Record<string, string> = {
  "django.settings":
    " (django.settings has Django's own settings gen writes; the application's own go in django.extra, a log file in django.logFiles, a folder in django.folders)",
  paths: " (a folder that one of the application's settings names goes in django.folders)",
};

function placeHint(path: PropertyKey[]): string {
  return PLACE_HINTS[path.slice(0, -1).map(String).join(".")] ?? "";
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
}

/** The field names of the object at `path` in the schema, through optional, default, array and record wrappers. */
export function knownKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let node: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (!node) return [];
    const def = node._zod.def as unknown as Def;
    node = unwrap(
      def.type === "object" ? def.shape?.[String(segment)] : def.type === "array" ? def.element : def.type === "record" ? def.valueType : undefined,
    );
  }
  const def = node?._zod.def as unknown as Def | undefined;
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let node = schema;
  for (let depth = 0; node && depth < 10; depth++) {
    const def = node._zod.def as unknown as Def;
    if (def.innerType) node = def.innerType;
    else if (def.type === "pipe" && def.in) node = def.in;
    else break;
  }
  return node;
}

function expand(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ ...issue, path: [...issue.path, key], keys: [key] }));
  }
  return [issue];
}

/** What is wrong, ending with the input that was found unless `showInput` is false. */
function describe(issue: z.core.$ZodIssue, showInput = true): string {
  const got = (input: unknown) => (showInput ? gotText(input) : "");
  if (issue.code === "unrecognized_keys") return "unknown field (check its spelling)";
  if (issue.code === "invalid_type" && issue.input === undefined) return `required (expected ${issue.expected})`;
  if (issue.code === "invalid_union" && issue.input === undefined) return "required";
  if (issue.code === "invalid_value") return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got(issue.input)}`;
  if (issue.code === "invalid_union") return `${unionMessage(issue)}${got(issue.input)}`;
  const message = issue.message.replace(/^Invalid input: /, "");
  // zod's type messages already name what was received; the input itself says more.
  if (issue.code === "invalid_type" && issue.message.startsWith("Invalid input:")) return `expected ${issue.expected}${got(issue.input)}`;
  return `${message}${got(issue.input)}`;
}

function unionMessage(issue: z.core.$ZodIssue & { code: "invalid_union" }): string {
  const inner = issue.errors.flat().map((i) => i.message.replace(/^Invalid input: /, ""));
  return [...new Set(inner)].join(", or ") || issue.message;
}

function gotText(input: unknown): string {
  if (input === undefined) return "";
  const text = JSON.stringify(input);
  if (text === undefined) return "";
  return `, got ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}
