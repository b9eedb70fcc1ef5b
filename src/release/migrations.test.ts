import assert from "node:assert/strict";
import { test } from "node:test";
import type { Environment } from "../../schema/index.js";
import { migrationsToUndo, parseMigrationPlan, summarizeMigrations } from "./migrations.js";

// Django's own `showmigrations --plan` output, with and without verbosity's dependency notes.
const PLAN = `[X]  contenttypes.0001_initial
[X]  auth.0001_initial
[X]  tsosi.0001_initial
[X]  tsosi.0002_badge ... (applied at 2024-03-01)
[ ]  tsosi.0003_scipost
System check identified no issues (0 silenced).
`;

test("the plan's applied lines become app.name pairs; unapplied and other lines are left out", () => {
  assert.deepEqual(
    parseMigrationPlan(PLAN).map((m) => `${m.app}.${m.name}`),
    ["contenttypes.0001_initial", "auth.0001_initial", "tsosi.0001_initial", "tsosi.0002_badge"],
  );
  assert.deepEqual(summarizeMigrations(parseMigrationPlan(PLAN)), [
    { app: "contenttypes", count: 1, last: "0001_initial" },
    { app: "auth", count: 1, last: "0001_initial" },
    { app: "tsosi", count: 2, last: "0002_badge" },
  ]);
});

test("the undo takes each app back to the target's last migration (or zero), newest app first, through the same manage.py", () => {
  const env = { release: { migrations: ["/usr/bin/poetry", "run", "python", "manage.py", "showmigrations", "--plan"] } } as unknown as Environment;
  const m = (s: string) => ({ app: s.split(".")[0]!, name: s.split(".")[1]! });
  const target = ["auth.0001_initial", "tsosi.0001_initial"].map(m);
  const live = ["auth.0001_initial", "tsosi.0001_initial", "tsosi.0002_badge", "blog.0001_initial", "tsosi.0003_scipost"].map(m);
  assert.deepEqual(migrationsToUndo(env, live, target), [
    {
      app: "tsosi",
      unknown: ["0002_badge", "0003_scipost"],
      to: "0001_initial",
      command: ["/usr/bin/poetry", "run", "python", "manage.py", "migrate", "tsosi", "0001_initial"],
    },
    { app: "blog", unknown: ["0001_initial"], to: "zero", command: ["/usr/bin/poetry", "run", "python", "manage.py", "migrate", "blog", "zero"] },
  ]);
  assert.deepEqual(migrationsToUndo(env, target, live), []);
});
