// The migrations a release applied: read after its tasks ran (Django's `showmigrations --plan`), kept in the
// release folder (migrations.json, outside public/), and compared on rollback. gen never undoes a migration itself:
// it names the `migrate` commands that would, and the admin decides.
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import type { ServerShell } from "../server/server-shell.js";
import { outputLines } from "../server/server-shell.js";
import { quoteArg, quoteArgv } from "../transport/shell-quote.js";
import type { Parsed } from "../transport/step-records.js";
import type { CommandResult } from "../transport/transport.js";
import type { TypedStep } from "../transport/typed-steps.js";
import { commandScript, writeFileStep } from "./release-steps.js";

export interface Migration {
  app: string;
  name: string;
}

export interface MigrationsFile {
  /** Applied migrations in plan order. */
  applied: Migration[];
}

/**
 * An app label or a migration name as gen records them: what `showmigrations --plan` prints for Django's (labels are
 * identifiers, migration names module names). The one rule for writing migrations.json and for reading it back: the
 * file is the deploy user's, and its names end up in commands gen prints.
 */
const MIGRATION_WORD = "[A-Za-z0-9_]{1,200}";
const WORD = new RegExp(`^${MIGRATION_WORD}$`);
const PLAN_LINE = new RegExp(`^\\s*\\[X\\]\\s+(${MIGRATION_WORD})\\.(${MIGRATION_WORD})(\\s.*)?$`);

/**
 * `[X]  app.0001_initial` lines of `showmigrations --plan` (higher verbosity adds dependencies or the time after
 * the name); `[ ]` is not applied; other lines are ignored.
 */
export function parseMigrationPlan(text: string): Migration[] {
  return text.split("\n").flatMap((line) => {
    const match = PLAN_LINE.exec(line);
    return match ? [{ app: match[1]!, name: match[2]! }] : [];
  });
}

/** An entry of migrations.json as gen writes it: both names by the rule of parseMigrationPlan. */
export function isMigration(value: unknown): value is Migration {
  const m = value as Partial<Migration> | null;
  return typeof m?.app === "string" && typeof m.name === "string" && WORD.test(m.app) && WORD.test(m.name);
}

export function migrationsPath(env: Environment, releaseId: string): string {
  return `${env.paths.releases}/${releaseId}/migrations.json`;
}

/** release.migrations run in the release's backend folder, read as the applied migrations; none when it is null. */
export function migrationsStep(shell: ServerShell, env: Environment, releaseDir: string): TypedStep<Migration[]> | undefined {
  const argv = env.release.migrations;
  if (!argv) return undefined;
  return {
    name: `\`${argv.join(" ")}\``,
    script: commandScript(shell, argv, `${releaseDir}/${env.paths.backendDir}`),
    parse: (run) => parseMigrationsStep(env, run),
  };
}

/** The applied migrations from the command's output, or an error value naming the command. */
export function parseMigrationsStep(env: Environment, run: CommandResult): Parsed<Migration[]> {
  const argv = env.release.migrations ?? [];
  if (run.exitCode !== 0) {
    return {
      ok: false,
      error: new GenError(`\`${argv.join(" ")}\` failed (exit ${run.exitCode}): the applied migrations could not be read (release.migrations)`, {
        details: outputLines(run).slice(-20),
      }),
    };
  }
  return { ok: true, value: parseMigrationPlan(run.stdout) };
}

/** Writes migrations.json into the release (outside public/). */
export function migrationsFileStep(shell: ServerShell, env: Environment, releaseId: string, applied: Migration[]): TypedStep<void> {
  const body: MigrationsFile = { applied };
  return writeFileStep(shell, migrationsPath(env, releaseId), `${JSON.stringify(body, null, 2)}\n`, "0644");
}

/**
 * migrations.json's `applied`; undefined when it is not a file gen wrote: one entry that gen would not have written
 * (a name that is no app label or migration name, `0001; curl ... | sh #`) and none of the file is believed.
 */
export function migrationsOf(file: unknown): Migration[] | undefined {
  const applied = (file as Partial<MigrationsFile> | null)?.applied;
  if (!Array.isArray(applied) || !applied.every(isMigration)) return undefined;
  return applied.map(({ app, name }) => ({ app, name }));
}

/** Per app: how many applied and the last one, as `gen releases` shows them. */
export function summarizeMigrations(applied: Migration[]): { app: string; count: number; last: string }[] {
  const byApp = new Map<string, { app: string; count: number; last: string }>();
  for (const m of applied) {
    const entry = byApp.get(m.app) ?? { app: m.app, count: 0, last: m.name };
    entry.count += 1;
    entry.last = m.name;
    byApp.set(m.app, entry);
  }
  return [...byApp.values()];
}

export interface MigrationUndo {
  app: string;
  /** Applied on the live release, unknown to the target, in plan order. */
  unknown: string[];
  /** The last migration of the app the target knows, or "zero". */
  to: string;
  command: string[];
}

/**
 * What the live release applied that the target never recorded, with the command that would take each app back
 * to the target's last migration (Django unapplies everything after it), the app applied last first.
 */
export function migrationsToUndo(env: Environment, live: Migration[], target: Migration[]): MigrationUndo[] {
  const known = new Set(target.map((m) => `${m.app}.${m.name}`));
  const undo = new Map<string, string[]>();
  // Newest first (the reverse of the plan): what was applied last is undone first.
  for (const m of [...live].reverse()) if (!known.has(`${m.app}.${m.name}`)) undo.set(m.app, [m.name, ...(undo.get(m.app) ?? [])]);
  return [...undo].map(([app, unknown]) => {
    const to = target.filter((m) => m.app === app).pop()?.name ?? "zero";
    return { app, unknown, to, command: [...migrateCommand(env), app, to] };
  });
}

/**
 * The line the admin is told to run: every word shell-quoted, so that what it runs is exactly `command` in `backend`,
 * whatever the words hold.
 */
export function undoCommandLine(backend: string, undo: MigrationUndo): string {
  return `cd ${quoteArg(backend)} && ${quoteArgv(undo.command)}`;
}

/** release.migrations with `showmigrations --plan` replaced by `migrate`: the same manage.py, run the same way. */
function migrateCommand(env: Environment): string[] {
  const argv = env.release.migrations ?? ["python", "manage.py", "showmigrations", "--plan"];
  const at = argv.indexOf("showmigrations");
  return at >= 0 ? [...argv.slice(0, at), "migrate"] : ["python", "manage.py", "migrate"];
}
