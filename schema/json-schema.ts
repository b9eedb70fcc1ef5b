// The JSON Schema of an environment file, for editors checking YAML and JSON environments. A file with
// `extends` holds only overrides, so for it nothing is required.
import { z } from "zod";
import { FIELD_DESCRIPTIONS, SECRET_REF_DESCRIPTIONS } from "./descriptions.js";
import { EnvironmentInputSchema } from "./environment.js";

type JsonSchema = Record<string, unknown>;

export function environmentJsonSchema(): JsonSchema {
  const { $schema, $defs, ...full } = describeFields(z.toJSONSchema(EnvironmentInputSchema, { io: "input", unrepresentable: "any" }), "") as JsonSchema;
  const extendsField = { type: "string", pattern: "^(preset:)?[A-Za-z0-9_-]+$", description: FIELD_DESCRIPTIONS.extends };
  const complete = { ...full, properties: { ...(full.properties as JsonSchema), extends: { not: {}, description: "Absent in a complete environment." } } };
  const overrides = withoutRequired({ ...full, properties: { ...(full.properties as JsonSchema), extends: extendsField } });
  return {
    $schema,
    title: "gen environment",
    // Shared definitions stay at the root, where their "#/$defs/..." references point.
    ...($defs ? { $defs } : {}),
    type: "object",
    // Typed and with the property declared: ajv's strict mode (and editors) read the condition unambiguously.
    if: { type: "object", properties: { extends: { type: "string", description: "Present when this file overrides another." } }, required: ["extends"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
    then: { ...overrides, required: ["extends"] },
    else: complete,
  };
}

/** Adds each field's description (descriptions.ts) by its path; a secret reference's two fields wherever they are. */
function describeFields(node: unknown, path: string): unknown {
  if (Array.isArray(node)) return node.map((item) => describeFields(item, path));
  if (node === null || typeof node !== "object") return node;
  const object = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === "properties") {
      const isSecretRef = "secret" in (value as JsonSchema);
      out.properties = Object.fromEntries(
        Object.entries(value as JsonSchema).map(([name, field]) => {
          const fieldPath = path ? `${path}.${name}` : name;
          const description = (isSecretRef ? SECRET_REF_DESCRIPTIONS[name] : undefined) ?? FIELD_DESCRIPTIONS[fieldPath];
          const described = describeFields(field, fieldPath) as JsonSchema;
          return [name, description ? { description, ...described } : described];
        }),
      );
    } else if (key === "items") out.items = describeFields(value, `${path}[]`);
    else if (key === "$defs") out.$defs = describeFields(value, "$defs");
    else out[key] = describeFields(value, path);
  }
  return out;
}

function withoutRequired(node: unknown): JsonSchema {
  if (Array.isArray(node)) return node.map(withoutRequired) as unknown as JsonSchema;
  if (node === null || typeof node !== "object") return node as JsonSchema;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== "required")
      .map(([key, value]) => [key, withoutRequired(value)]),
  );
}
