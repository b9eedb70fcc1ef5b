// Every staged file is checked with its real tool on the server before anything moves, one step per check, sent in
// the staging step's round trip (a step builder and a parser of the answers):
// visudo for sudoers, logrotate -d for logrotate, systemd-analyze verify for units (on copies under their real names
// that the staging step writes, checkCopies); settings are compiled by python3 in the staging program itself
// (stagingRejections reads its verdict).
// The tools' output is read, not only their exit status (logrotate reports errors with status 0).
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { StageFile } from "../server/root-files.js";
import type { FileKind, RenderedFile } from "../types.js";
import { incomingDir, type StagedFile, type StagingOutcome } from "./stage.js";
import type { ServerShell } from "../server/server-shell.js";
import { combine, guardedBy, SKIPPED, type StepGroup, type TypedStep } from "../transport/typed-steps.js";

interface Check {
  tool: string;
  files: StagedFile[];
  argv: string[];
  failed: (exitCode: number, output: string) => string[] | undefined;
  /** Scratch paths in the output, shown as the server paths they stand for. */
  rename: [string, string][];
}

/** The program on the server that checks a staged file of each kind (preflight makes sure it is installed);
 * the nginx site is checked whole with server.nginxTest once it is in place. */
export const CHECK_TOOLS = {
  sudoers: "visudo",
  "systemd-unit": "systemd-analyze",
  logrotate: "logrotate",
  "python-settings": "python3",
} as const satisfies Partial<Record<FileKind, string>>;

/** One step per check, whose value is its failure (undefined: the file passed). */
export function checkSteps(shell: ServerShell, env: Environment, staged: StagedFile[], applyId: string): TypedStep<string | undefined>[] {
  // exec: the step's shell becomes the tool (one process fewer each).
  return stagedChecks(shell, env, staged, applyId).map((check) => ({
    name: `checking ${check.files.map((f) => f.entry.path).join(", ")} with ${check.tool}`,
    script: `exec ${check.argv.map(shell.quote).join(" ")} 2>&1`,
    parse: (run) => ({ ok: true, value: checkFailure(check, run) }),
  }));
}

/**
 * Staging, then every check, each run whatever the others' statuses (every problem is reported at once) and none
 * when staging failed: what staging did, with the checks' failures added to its rejections.
 */
export function stageAndCheck(staging: TypedStep<StagingOutcome>, checks: TypedStep<string | undefined>[]): StepGroup<StagingOutcome> {
  return combine([guardedBy(staging, ...checks)], ([[outcome, failures]]) => ({
    ok: true,
    value: { ...outcome, rejected: [...outcome.rejected, ...(failures === SKIPPED ? [] : failures.filter((f) => f !== undefined))] },
  }));
}

/**
 * The copies the unit check verifies, for the staging step to write with the staged files (no process per copy):
 * every staged unit and the unchanged managed units (which staged units may refer to, Requires=x.socket) under their
 * real names, in this apply's incoming folder, which goes when the apply ends.
 */
export function checkCopies(
  env: Environment,
  staged: StagedFile[],
  installedUnits: PlanEntry[],
  rendered: Map<string, RenderedFile>,
  applyId: string,
): StageFile[] {
  const units = staged.filter((s) => s.entry.kind === "systemd-unit").map((s) => s.entry);
  if (units.length === 0) return [];
  return [...units, ...installedUnits].map((entry) => ({
    path: `${unitCheckDir(env, applyId)}/${posix.basename(entry.path)}`,
    staged: posix.basename(entry.path),
    mode: "0600",
    owner: entry.desired.owner,
    group: entry.desired.group,
    content: rendered.get(entry.path)?.content ?? "",
  }));
}

function unitCheckDir(env: Environment, applyId: string): string {
  return `${incomingDir(env.server.stateDir, applyId)}/verify`;
}

/** The check's failure in one message, under the server paths its scratch names stand for; undefined when it passed. */
function checkFailure(check: Check, run: { exitCode: number; stdout: string; stderr: string }): string | undefined {
  const problems = check.failed(run.exitCode, run.stdout);
  if (!problems) return undefined;
  const text = check.rename.reduce((out, [from, to]) => out.replaceAll(from, to), [...problems, ...lines(run.stderr)].join(" | "));
  return `${check.tool} rejected ${check.files.map((f) => f.entry.path).join(", ")} (exit ${run.exitCode}): ${text}`;
}

const lines = (output: string) =>
  output
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean);

function stagedChecks(shell: ServerShell, env: Environment, staged: StagedFile[], applyId: string): Check[] {
  const of = (kind: string) => staged.filter((s) => s.entry.kind === kind);
  const rename = (s: StagedFile): [string, string][] => [[shell.raw(s.staged), s.entry.path]];
  const failedOnStatus = (exitCode: number, output: string) => (exitCode === 0 ? undefined : lines(output));
  const checks: Check[] = [
    ...of("sudoers").map((s) => ({
      tool: CHECK_TOOLS.sudoers,
      files: [s],
      argv: [CHECK_TOOLS.sudoers, "-cf", shell.raw(s.staged)],
      failed: failedOnStatus,
      rename: rename(s),
    })),
    ...of("logrotate").map((s) => ({
      tool: CHECK_TOOLS.logrotate,
      files: [s],
      argv: [CHECK_TOOLS.logrotate, "-d", "-s", shell.raw(`${env.server.stateDir}/logrotate-check.status`), shell.raw(s.staged)],
      failed: (exitCode: number, output: string) => {
        if (shell.sandbox && onlyMissingAccounts(output)) return undefined;
        return exitCode !== 0 || /^error:/m.test(output) ? lines(output).filter((l) => /^error:/.test(l) || exitCode !== 0) : undefined;
      },
      rename: rename(s),
    })),
  ];
  const units = of("systemd-unit");
  if (units.length > 0) checks.push(unitCheck(shell, env, units, applyId));
  return checks;
}

/**
 * The sandbox records owners instead of setting them, so the users and groups that `su` names need not exist on
 * this machine: logrotate's complaint about them (and the block it then skips) is not a problem of the file.
 */
function onlyMissingAccounts(output: string): boolean {
  const errors = output.split("\n").filter((l) => l.startsWith("error:"));
  return errors.length > 0 && errors.every((l) => /unknown (user|group) '|found error in .*, skipping/.test(l));
}

/** Units are verified together under their real names, with the unchanged managed units beside them (checkCopies). */
function unitCheck(shell: ServerShell, env: Environment, units: StagedFile[], applyId: string): Check {
  const dir = unitCheckDir(env, applyId);
  const copies = units.map((u) => `${dir}/${posix.basename(u.entry.path)}`);
  const external = env.server.systemServices.map((s) => `${s}.service`);
  return {
    tool: CHECK_TOOLS["systemd-unit"],
    files: units,
    argv: [CHECK_TOOLS["systemd-unit"], "verify", "--man=no", ...copies.map((c) => shell.raw(c))],
    // Any output is a finding (systemd-analyze exits 0 on some real problems), except what is about this machine.
    failed: (_exitCode, output) => {
      const problems = output
        .split("\n")
        .map((l) => l.trimEnd())
        .filter((l) => l && !isEnvironmental(l, external));
      return problems.length ? problems : undefined;
    },
    rename: [[shell.raw(dir), posix.dirname(units[0]!.entry.path)]],
  };
}

/** Messages about this machine rather than the unit: a binary the release installs later, a declared external unit. */
function isEnvironmental(line: string, externalUnits: string[]): boolean {
  if (/Command .* is not executable: No such file or directory/.test(line)) return true;
  return externalUnits.some((unit) => line.includes(`Unit ${unit} not found`));
}
