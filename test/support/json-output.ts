// Checks a command's --json output against the JSON Schema gen ships for it (docs/json/<command>.schema.json).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { packageRoot } from "../../src/paths.js";

// strictRequired is off: the schemas say "one of these properties" with oneOf/required beside the properties.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });

export function schemaFile(command: string): string {
  return join(packageRoot, "docs", "json", `${command}.schema.json`);
}

/** Parses `text` as one JSON document and asserts it matches the schema of `command`; returns it. */
export function assertJsonOutput<T = Record<string, unknown>>(command: string, text: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    assert.fail(`gen ${command} --json printed something that is not one JSON document (${(error as Error).message}):\n${text}`);
  }
  const schema = JSON.parse(readFileSync(schemaFile(command), "utf8")) as { $id: string };
  const validate = ajv.getSchema(schema.$id) ?? ajv.compile(schema);
  assert.ok(validate(value), `gen ${command} --json does not match ${schemaFile(command)}:\n${ajv.errorsText(validate.errors, { separator: "\n" })}\n${text}`);
  return value as T;
}
