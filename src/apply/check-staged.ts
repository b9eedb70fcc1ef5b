// Every staged file is checked with its real tool on the server before anything moves, one step per check, sent in
// the staging step's round trip (a step builder and a parser of the answers):
// visudo for sudoers, logrotate -d for logrotate, systemd-analyze verify for units (on copies under their real names
// that the staging step writes, checkCopies); settings are compiled by python3 in the staging program itself, which
// marks a rejection (stage.ts). Each check decides its verdict on the server, in its exit status, reading the tool's
// output where the status is not enough (logrotate reports errors with status 0), so that the install can be chained
// after the checks in the same round trip.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { StageFile } from "../server/root-files.js";
import type { FileKind, RenderedFile } from "../types.js";
import { incomingDir, rejectedMark, type StagedFile, type StagingOutcome } from "./stage.js";
import type { ServerShell } from "../server/server-shell.js";
import { chain, combine, every, SKIPPED, type StepGroup, type StepOutput, type TypedStep } from "../transport/typed-steps.js";

interface Check {
  tool: string;
  files: StagedFile[];
  /** Runs the tool and exits 0 when the file passed; otherwise prints the problems (the tool's words) and exits non-zero. */
  script: string;
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

/**
 * One step per check, whose value is its failure (undefined: the file passed). Each decides its verdict on the server,
 * in its exit status, so that what is chained after the checks (the install) runs there only when all passed.
 */
export function checkSteps(shell: ServerShell, env: Environment, staged: StagedFile[], applyId: string): TypedStep<string | undefined>[] {
  const checks = stagedChecks(shell, env, staged, applyId).map((check) => ({
    name: `checking ${check.files.map((f) => f.entry.path).join(", ")} with ${check.tool}`,
    script: check.script,
    parse: (run: StepOutput) => ({ ok: true as const, value: checkFailure(check, run) }),
  }));
  // Settings files are compiled by the staging program, which leaves a mark when one failed (stage.ts).
  const settings: TypedStep<undefined> = {
    name: "reading the settings files' verdict",
    script: `[ ! -e ${shell.path(rejectedMark(env.server.stateDir, applyId))} ]`,
    parse: () => ({ ok: true, value: undefined }),
  };
  return [...checks, settings];
}

/**
 * Staging, then every check, each run whatever the others' statuses (every problem is reported at once) and none
 * when staging failed: what staging did, with the checks' failures added to its rejections. What is chained after it
 * runs only when staging and every check passed.
 */
export function stageAndCheck(staging: TypedStep<StagingOutcome>, checks: TypedStep<string | undefined>[]): StepGroup<StagingOutcome> {
  return combine([chain(staging, every(checks))], ([[outcome, failures]]) => ({
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
function checkFailure(check: Check, run: StepOutput): string | undefined {
  if (run.exitCode === 0) return undefined;
  const text = check.rename.reduce((out, [from, to]) => out.replaceAll(from, to), [...lines(run.stdout), ...lines(run.stderr)].join(" | "));
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
  const checks: Check[] = [
    ...of("sudoers").map((s) => ({
      tool: CHECK_TOOLS.sudoers,
      files: [s],
      // exec: the step's shell becomes the tool (one process fewer); its status is the verdict.
      script: `exec ${CHECK_TOOLS.sudoers} -cf ${shell.path(s.staged)} 2>&1`,
      rename: rename(s),
    })),
    ...of("logrotate").map((s) => ({
      tool: CHECK_TOOLS.logrotate,
      files: [s],
      script: logrotateScript(`${CHECK_TOOLS.logrotate} -d -s ${shell.path(`${env.server.stateDir}/logrotate-check.status`)} ${shell.path(s.staged)}`),
      rename: rename(s),
    })),
  ];
  const units = of("systemd-unit");
  if (units.length > 0) checks.push(unitCheck(shell, env, units, applyId));
  return checks;
}

/**
 * logrotate reports some errors with status 0: its "error:" lines are the verdict too. A host that records owners instead of
 * setting them (GEN_OWNERS=recorded, the sandbox) need not have the users and groups that `su` names: logrotate's
 * complaint about them (and the block it then skips) is not a problem of the file there.
 */
function logrotateScript(command: string): string {
  return [
    `out=$(${command} 2>&1); rc=$?`,
    "errors=''; accounts=0",
    "while IFS= read -r line; do case $line in",
    `  error:*"unknown user '"*|error:*"unknown group '"*|error:*"found error in "*", skipping"*) [ "$accounts" = 2 ] || accounts=1; errors="$errors$line
" ;;`,
    `  error:*) errors="$errors$line
"; accounts=2 ;;`,
    "esac; done <<GEN_OUTPUT",
    "$out",
    "GEN_OUTPUT",
    // Only missing accounts where owners are recorded: the file passed; any other status or error line: it did not.
    `if [ "$accounts" = 1 ] && [ "\${GEN_OWNERS-}" = recorded ]; then exit 0; fi`,
    `if [ "$rc" != 0 ]; then printf '%s\n' "$out"; exit "$rc"; fi`,
    `if [ -n "$errors" ]; then printf '%s' "$errors"; exit 1; fi`,
  ].join("\n");
}

/** Units are verified together under their real names, with the unchanged managed units beside them (checkCopies). */
function unitCheck(shell: ServerShell, env: Environment, units: StagedFile[], applyId: string): Check {
  const dir = unitCheckDir(env, applyId);
  const copies = units.map((u) => shell.path(`${dir}/${posix.basename(u.entry.path)}`));
  // Messages about this machine rather than the unit: a binary the release installs later, a declared external unit.
  const environmental = [
    `*"Command "*" is not executable: No such file or directory"*`,
    ...env.server.systemServices.map((s) => `*${shell.quote(`Unit ${s}.service not found`)}*`),
  ];
  return {
    tool: CHECK_TOOLS["systemd-unit"],
    files: units,
    // Any other output is a finding (systemd-analyze exits 0 on some real problems), whatever its status.
    script: [
      `out=$(${CHECK_TOOLS["systemd-unit"]} verify --man=no ${copies.join(" ")} 2>&1)`,
      "passed=1",
      "while IFS= read -r line; do case $line in",
      `  ${environmental.join("|")}) ;;`,
      `  *[![:space:]]*) printf '%s\n' "$line"; passed=0 ;;`,
      "esac; done <<GEN_OUTPUT",
      "$out",
      "GEN_OUTPUT",
      '[ "$passed" = 1 ]',
    ].join("\n"),
    rename: [[shell.raw(dir), posix.dirname(units[0]!.entry.path)]],
  };
}
