// zod issues as one line each: `environments/prod.ts: gunicorn.workers: expected a whole number >= 1, got "five"`.
import type { z } from "zod";

export function formatSchemaIssues(file: string, issues: z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => expand(issue)).map((issue) => {
    const field = issue.path.map(String).join(".") || "(top level)";
    return `${file}: ${field}: ${describe(issue)}`;
  });
}

function expand(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ ...issue, path: [...issue.path, key], keys: [key] }));
  }
  return [issue];
}

function describe(issue: z.core.$ZodIssue): string {
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

function got(input: unknown): string {
  if (input === undefined) return "";
  const text = JSON.stringify(input);
  if (text === undefined) return "";
  return `, got ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}
