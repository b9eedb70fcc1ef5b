// The JSON Schema of an environment file, for editors checking YAML and JSON environments. A file with
// `extends` holds only overrides, so for it nothing is required.
import { z } from "zod";
import { EnvironmentInputSchema } from "./environment.js";

type JsonSchema = Record<string, unknown>;

export function environmentJsonSchema(): JsonSchema {
  const { $schema, $defs, ...full } = z.toJSONSchema(EnvironmentInputSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const extendsField = { type: "string", pattern: "^(preset:)?[A-Za-z0-9_-]+$", description: "the environment this one overrides: a file name in the environments folder, or preset:<name> for one shipped with gen (preset:tsosi)" };
  const complete = { ...full, properties: { ...(full.properties as JsonSchema), extends: { not: {} } } };
  const overrides = withoutRequired({ ...full, properties: { ...(full.properties as JsonSchema), extends: extendsField } });
  return {
    $schema,
    title: "gen environment",
    // Shared definitions stay at the root, where their "#/$defs/..." references point.
    ...($defs ? { $defs } : {}),
    if: { required: ["extends"] },
    then: { ...overrides, required: ["extends"] },
    else: complete,
  };
}

function withoutRequired(node: unknown): JsonSchema {
  if (Array.isArray(node)) return node.map(withoutRequired) as unknown as JsonSchema;
  if (node === null || typeof node !== "object") return node as JsonSchema;
  return Object.fromEntries(Object.entries(node).filter(([key]) => key !== "required").map(([key, value]) => [key, withoutRequired(value)]));
}
