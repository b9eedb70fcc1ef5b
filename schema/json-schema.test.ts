// The JSON Schema that `gen schema` prints, used by a real JSON Schema validator (ajv) on environment files.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { packageRoot } from "../src/paths.js";
import { environmentJsonSchema } from "./json-schema.js";

const fixtures = join(packageRoot, "test", "fixtures", "environments");
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(environmentJsonSchema());
const load = (name: string) =>
  name.endsWith(".json") ? JSON.parse(readFileSync(join(fixtures, name), "utf8")) : parse(readFileSync(join(fixtures, name), "utf8"));

test("a complete environment in YAML or JSON passes the JSON Schema", () => {
  for (const name of ["prod-as-yaml.yaml", "prod-as-json.json"]) assert.ok(validate(load(name)), `${name}: ${JSON.stringify(validate.errors)}`);
});

test("an environment with extends needs only its overrides", () => {
  assert.ok(validate({ extends: "preset:tsosi", server: { host: "tsosi.u-ga.fr" } }), JSON.stringify(validate.errors));
});

test("without extends, the required sections are required", () => {
  assert.equal(validate({ server: { host: "tsosi.u-ga.fr" } }), false);
  assert.ok(
    validate.errors?.some((e) => e.message?.includes("app")),
    JSON.stringify(validate.errors),
  );
});

test("the schema problems zod reports are reported by the JSON Schema too", () => {
  assert.equal(validate(load("broken-schema.yaml")), false);
  const paths = (validate.errors ?? []).map((e) => e.instancePath);
  for (const path of ["/app/domain", "/gunicorn/workers", "/nginx/tls", "/logrotate/frequency"])
    assert.ok(paths.includes(path), `${path} in ${paths.join(", ")}`);
});

test("every field of the JSON Schema has a description, for editors", () => {
  const missing: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, path);
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === "properties") {
        for (const [name, field] of Object.entries(value as Record<string, { description?: string }>)) {
          if (!field.description) missing.push(`${path}${name}`);
          walk(field, `${path}${name}.`);
        }
      } else walk(value, key === "items" ? `${path}[].` : path);
    }
  };
  walk(environmentJsonSchema(), "");
  assert.deepEqual([...new Set(missing)], []);
});

test("the JSON Schema compiles in ajv's strict mode", () => {
  assert.doesNotThrow(() => new Ajv2020({ strict: true, strictRequired: true, allErrors: true }).compile(environmentJsonSchema()));
});
