// gen logs: the units whose journal it reads (the systemd units gen renders for the environment, and for a host's
// roles), the journalctl command line (only unit names from that list, never a word typed by the user), and whether
// the login may read the system journal: as the release user, through the group systemd-journal, never sudo (a
// journalctl run as root is a root shell through its pager; gen's promise is that the deploy user never gets root).
import { posix } from "node:path";
import * as z from "zod/mini";
import type { Environment, Role } from "../../schema/index.js";
import { GenError, UsageError } from "../errors.js";
import { fileSpecs } from "../render/file-specs.js";
import type { ServerShell } from "../server/server-shell.js";
import { jsonStringFunction, oneRecord, printServerRecord, type Parsed } from "../transport/step-records.js";
import type { CommandResult } from "../transport/transport.js";
import { runStep, type TypedStep } from "../transport/typed-steps.js";

/** The groups whose members read the whole system journal (systemd's own, and those its journal files' ACLs name). */
export const JOURNAL_GROUPS = ["systemd-journal", "adm", "wheel"];

const UNIT_SUFFIX = /\.(service|socket|timer|path|target)$/;

/** The environment's systemd units, in the order gen renders them; with `roles`, only those a host of them runs. */
export function environmentUnits(env: Environment, roles?: Role[]): string[] {
  return fileSpecs(env)
    .filter((spec) => spec.kind === "systemd-unit" && (roles === undefined || spec.roles.some((role) => roles.includes(role))))
    .map((spec) => posix.basename(spec.path));
}

/** The units `gen logs` reads: the one named (with or without .service), or all of them. Unknown: a usage error. */
export function chosenUnits(env: Environment, envName: string, unit: string | undefined): string[] {
  const all = environmentUnits(env);
  if (unit === undefined) return all;
  const name = UNIT_SUFFIX.test(unit) ? unit : `${unit}.service`;
  if (all.includes(name)) return [name];
  throw new UsageError(`${JSON.stringify(unit)} is not a unit of environment ${envName}`, [`its units: ${all.join(", ")}`]);
}

export interface JournalOptions {
  /** How many of the last lines to show first. */
  lines: number;
  /** Go on printing lines as they are written, until stopped. */
  follow: boolean;
}

/** journalctl for `units` (names from environmentUnits only): no pager, ISO times; `-- No entries --` when there are none. */
export function journalctlArgv(units: string[], options: JournalOptions): string[] {
  return [
    "journalctl",
    "--no-pager",
    "--output=short-iso",
    `--lines=${options.lines}`,
    ...(options.follow ? ["--follow"] : []),
    ...units.flatMap((unit) => ["--unit", unit]),
  ];
}

const READING_ACCESS = "reading the login's groups";

export interface JournalAccess {
  uid: number;
  groups: string[];
  allowed: boolean;
}

/** The login's uid and groups, as one record, read as whether it may read the system journal. */
export function journalAccessStep(shell: ServerShell): TypedStep<JournalAccess> {
  return {
    name: READING_ACCESS,
    script: [jsonStringFunction(), `u=$(id -u) && g=$(id -Gn) || exit 1`, printServerRecord({}, "ids", `"$u $g"`)].join("\n"),
    parse: (run) => parseJournalAccess(shell.transport.describe, run),
  };
}

/** Whether the login reads the system journal: root, or a member of one of JOURNAL_GROUPS. */
export function parseJournalAccess(where: string, run: Pick<CommandResult, "exitCode" | "stdout">): Parsed<JournalAccess> {
  const step = `${READING_ACCESS} on ${where}`;
  if (run.exitCode !== 0) return { ok: false, error: new GenError(`${step} failed (exit ${run.exitCode})`) };
  const parsed = oneRecord(step, run, z.object({ ids: z.string() }));
  if (!parsed.ok) return parsed;
  const [uid, ...groups] = parsed.value.ids.trim().split(/\s+/);
  const number = Number(uid);
  if (!Number.isInteger(number)) return { ok: false, error: new GenError(`${step}: no uid in its answer`) };
  return { ok: true, value: { uid: number, groups, allowed: number === 0 || groups.some((g) => JOURNAL_GROUPS.includes(g)) } };
}

/** Throws, with the fix, when the login (the release user) may not read the units' journal. */
export async function requireJournalAccess(shell: ServerShell, user: string): Promise<void> {
  if ((await runStep(shell, journalAccessStep(shell))).allowed) return;
  throw new GenError(`${user} may not read the system journal on ${shell.transport.describe}: it is in none of the groups ${JOURNAL_GROUPS.join(", ")}`, {
    details: [`fix: ${journalGroupFix(user)}; gen doctor checks it`],
  });
}

export function journalGroupFix(user: string): string {
  return `sudo usermod -aG systemd-journal ${user} (it takes effect at ${user}'s next login)`;
}
