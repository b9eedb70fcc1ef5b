// Every staged file is checked with its real tool on the server before anything moves: one step, sent in the
// staging step's round trip and guarded by it, runs every check at once (systemd-analyze alone takes most of their
// time) and reports each one's status and output in turn; a step builder and a parser of its answer.
// visudo for sudoers, python3 for settings, logrotate -d for logrotate, systemd-analyze verify for units.
// The tools' output is read, not only their exit status (logrotate reports errors with status 0).
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import type { FileKind } from "../types.js";
import type { StagedFile } from "./stage.js";
import type { ServerShell, StepOutput } from "../server/server-shell.js";
import type { Step } from "../transport/transport.js";

export interface Check {
  tool: string;
  files: StagedFile[];
  argv: string[];
  /** Shell lines run before and after the check (the unit check's scratch folder). */
  before?: string[];
  after?: string[];
  failed: (exitCode: number, output: string) => string[] | undefined;
  /** Scratch paths in the output, shown as the server paths they stand for. */
  rename: [string, string][];
}

const COMPILE = "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')";

/** The program on the server that checks a staged file of each kind (preflight makes sure it is installed);
 * the nginx site is checked whole with server.nginxTest once it is in place. */
export const CHECK_TOOLS = {
  sudoers: "visudo",
  "systemd-unit": "systemd-analyze",
  logrotate: "logrotate",
  "python-settings": "python3",
} as const satisfies Partial<Record<FileKind, string>>;

/**
 * The step that runs every check at once, whatever the others' statuses (every problem is reported at once); it
 * does not run when the step it is guarded by (staging) failed. `installedUnits`: the other managed units,
 * unchanged and in place, which staged units may refer to (Requires=x.socket).
 */
export function checkStep(
  shell: ServerShell,
  env: Environment,
  staged: StagedFile[],
  applyId: string,
  installedUnits: string[] = [],
): { checks: Check[]; step: Step; marker: string } {
  const checks = stagedChecks(shell, env, staged, applyId, installedUnits);
  // Each check's output is cut from the others' by a line no tool prints: the marker is random.
  const marker = `gen-check-${randomBytes(8).toString("hex")}`;
  // A check's scratch lines run around it and keep its status; each check writes its own files in a scratch folder.
  const started = checks.map((c, i) =>
    [
      "{ (",
      ...(c.before ?? []),
      `${c.argv.map(shell.quote).join(" ")} 2>&1`,
      "status=$?",
      ...(c.after ?? []),
      "exit $status",
      `) >"$d/${i}.out" 2>"$d/${i}.err"; echo $? >"$d/${i}.status"; } &`,
    ].join("\n"),
  );
  const reported = checks.map((_, i) =>
    [
      `printf '\\n%s %s %s\\n' ${marker} ${i} "$(cat "$d/${i}.status")"; cat "$d/${i}.out"`,
      `printf '\\n%s %s\\n' ${marker} ${i} >&2; cat "$d/${i}.err" >&2`,
    ].join("\n"),
  );
  const script = ["d=$(mktemp -d) || exit 97", ...started, "wait", ...reported, 'rm -rf "$d"'].join("\n");
  return { checks, step: { name: `checking the staged files (${checks.map((c) => c.tool).join(", ")})`, guarded: true, script }, marker };
}

/** One message per failed check (empty: all passed); the step's answer cut into each check's status and output. */
export function checkFailures(checks: Check[], marker: string, run: StepOutput): string[] {
  if (run.skipped || checks.length === 0) return [];
  const out = cutByMarker(run.stdout, marker);
  const err = cutByMarker(run.stderr, marker);
  const answered = (record: { head: string } | undefined, i: number) => record?.head.split(" ")[0] === String(i);
  if (run.exitCode !== 0 || checks.some((_, i) => !answered(out[i], i) || !answered(err[i], i))) {
    return [`the checks of the staged files did not run (exit ${run.exitCode}): ${lines(run.stderr).join(" | ") || "no output"}`];
  }
  return checks.flatMap((check, i) => {
    // "<i> <status>"; no status when the check's shell was killed before it could write one.
    const status = out[i]!.head.split(" ")[1];
    const exitCode = status ? Number(status) : -1;
    const problems = check.failed(exitCode, out[i]!.body);
    if (!problems) return [];
    const text = check.rename.reduce((all, [from, to]) => all.replaceAll(from, to), [...problems, ...lines(err[i]!.body)].join(" | "));
    return [`${check.tool} rejected ${check.files.map((f) => f.entry.path).join(", ")} (exit ${exitCode}): ${text}`];
  });
}

/** "\n<marker> <head>\n<body>" records, in order. */
function cutByMarker(output: string, marker: string): { head: string; body: string }[] {
  const [, ...records] = output.split(`\n${marker} `);
  return records.map((record) => {
    const newline = record.indexOf("\n");
    return newline < 0 ? { head: record, body: "" } : { head: record.slice(0, newline), body: record.slice(newline + 1) };
  });
}

const lines = (output: string) =>
  output
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean);

function stagedChecks(shell: ServerShell, env: Environment, staged: StagedFile[], applyId: string, installedUnits: string[]): Check[] {
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
    ...of("python-settings").map((s) => ({
      tool: CHECK_TOOLS["python-settings"],
      files: [s],
      // -I: root's python3 must not import modules from the folder it runs in or from PYTHON* variables.
      argv: [CHECK_TOOLS["python-settings"], "-I", "-W", "error", "-c", COMPILE, shell.raw(s.staged)],
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
  if (units.length > 0) checks.push(unitCheck(shell, env, units, installedUnits, applyId));
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

/** Units are verified together under their real names, with the unchanged managed units beside them. */
function unitCheck(shell: ServerShell, env: Environment, units: StagedFile[], installedUnits: string[], applyId: string): Check {
  const dir = `${env.server.stateDir}/verify-${applyId}`;
  const copies = units.map((u) => `${dir}/${posix.basename(u.entry.path)}`);
  const external = env.server.systemServices.map((s) => `${s}.service`);
  return {
    tool: CHECK_TOOLS["systemd-unit"],
    files: units,
    before: [
      `mkdir -p ${shell.path(dir)}`,
      ...units.map((u, i) => `cp ${shell.path(u.staged)} ${shell.path(copies[i]!)}`),
      ...installedUnits.map((path) => `cp ${shell.path(path)} ${shell.path(`${dir}/${posix.basename(path)}`)}`),
    ],
    argv: [CHECK_TOOLS["systemd-unit"], "verify", "--man=no", ...copies.map((c) => shell.raw(c))],
    after: [`rm -rf ${shell.path(dir)}`],
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
