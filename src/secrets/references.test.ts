// The walker over secret references: where each one is, and what replaces it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findSecretReferences, mapSecretRefs } from "./references.js";

const environment = {
  postgres: { password: { secret: "DB_PASSWORD" } },
  django: { extra: { KEYS: ["plain", { secret: "API_KEY", default: "api-key-default" }] } },
  notARef: { secret: "NAME", note: "an object with more keys is data" },
};

test("finds each reference with the dotted path of its field, array items by their index", () => {
  assert.deepEqual(findSecretReferences(environment), [
    { field: "postgres.password", ref: { secret: "DB_PASSWORD" } },
    { field: "django.extra.KEYS.1", ref: { secret: "API_KEY", default: "api-key-default" } },
  ]);
  assert.deepEqual(
    findSecretReferences(environment.postgres, ["postgres"]).map((r) => r.field),
    ["postgres.password"],
  );
});

test("replaces each reference by what visit makes of it and its path, keeping all other data", () => {
  assert.deepEqual(
    mapSecretRefs(environment, (ref, path) => `${ref.secret}@${path.join(".")}`),
    {
      postgres: { password: "DB_PASSWORD@postgres.password" },
      django: { extra: { KEYS: ["plain", "API_KEY@django.extra.KEYS.1"] } },
      notARef: { secret: "NAME", note: "an object with more keys is data" },
    },
  );
});
