// Staging: every changed file is sent, then written beside its target (same filesystem, so the final
// rename is atomic) with its final mode and owner, and checked there with the real tool before anything moves.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { RenderedFile } from "../types.js";
import { refusalLines } from "../server/link-safe.js";
import { parseRootFiles, ROOT_FILES_TOOL, rootFilesStep, type StageFile } from "../server/root-files.js";
import { plainStep, runStep, type TypedStep } from "../transport/typed-steps.js";
import { outputLines, sudoRefusedHint, type ServerShell } from "../server/server-shell.js";

export interface StagedFile {
  entry: PlanEntry;
  staged: string;
}

/** The staged name of `path` for one apply: beside it, so the final rename stays on one filesystem. */
function stagedName(path: string, applyId: string): string {
  return `.gen-stage.${applyId}.${posix.basename(path)}`;
}

export function stagedPath(path: string, applyId: string): string {
  return posix.join(posix.dirname(path), stagedName(path, applyId));
}

export function incomingDir(stateDir: string, applyId: string): string {
  return `${stateDir}/incoming-${applyId}`;
}

/** Left by the staging step when the staging program rejected a settings file (its exit status REJECTED). */
export function rejectedMark(stateDir: string, applyId: string): string {
  return `${incomingDir(stateDir, applyId)}/rejected`;
}

/** root_files.py's status when every file was staged and a settings file failed its compile. */
const REJECTED = 6;

/** What staging did: the settings files python3 rejected (one message each), or the failure that stopped it. */
export interface StagingOutcome {
  failed?: GenError;
  rejected: string[];
}

/**
 * Every changed file in one step: the server program writes each beside its target, private first, then with its
 * final owner and mode, through its folder opened without following links (a folder swapped for a link after the
 * preflight is refused). Missing folders are created on the way. `alsoWrite`: files the checks read (checkCopies).
 */
export function stageStep(
  shell: ServerShell,
  stateDir: string,
  entries: PlanEntry[],
  rendered: Map<string, RenderedFile>,
  applyId: string,
  alsoWrite: (staged: StagedFile[]) => StageFile[] = () => [],
): { staged: StagedFile[]; step: TypedStep<StagingOutcome> } {
  const staged = entries.map((entry) => ({ entry, staged: stagedPath(entry.path, applyId) }));
  const files = staged.map(({ entry, staged: path }) => {
    const { mode, owner, group } = entry.desired;
    // A settings file's check, python3's compile, runs in the staging program itself: one python3 start fewer.
    const file = {
      path: entry.path,
      staged: posix.basename(path),
      mode,
      owner,
      group,
      ...(entry.kind === "python-settings" ? { check: "python" as const } : {}),
    };
    return entry.kind === "symlink" ? { ...file, link: entry.desired.linkTarget! } : { ...file, content: rendered.get(entry.path)!.content };
  });
  // This apply's incoming folder first (root's, private): the check copies and the record go there, and, left behind,
  // it tells the next apply that this one was interrupted.
  const incoming = { folder: incomingDir(stateDir, applyId), mode: "0700" };
  const step = rootFilesStep(shell, STAGING, { op: "stage", files: [incoming, ...files, ...alsoWrite(staged)] });
  // A settings file that failed its compile is a verdict, as a check's failure is: the mark stops the install that is
  // chained after the checks (check-staged.ts), while the checks still run and report.
  const mark = shell.path(rejectedMark(stateDir, applyId));
  const script = `(${step.script})\nrc=$?\nif [ "$rc" = ${REJECTED} ]; then : > ${mark} && exit 0; fi\nexit "$rc"`;
  return { staged, step: { ...step, script, parse: (run) => ({ ok: true, value: stagingOutcome(shell, run) }) } };
}

const STAGING = "staging the changed files";

function stagingOutcome(shell: ServerShell, run: { exitCode: number; stdout: string; stderr: string }): StagingOutcome {
  if (run.exitCode !== 0) {
    const failed = new GenError(`${STAGING} failed on ${shell.transport.describe} (exit ${run.exitCode})`, {
      details: [...refusalLines(outputLines(run)), ...sudoRefusedHint(shell.sudo, run)],
    });
    return { failed, rejected: [] };
  }
  // Settings files are compiled by the staging program (python3) itself: a rejection is its record, in python3's words.
  const parsed = parseRootFiles(STAGING, run.stdout);
  if (!parsed.ok) return { rejected: [parsed.error.message] };
  const lines = (text: string) =>
    text
      .split("\n")
      .map((l) => l.trimEnd())
      .filter(Boolean);
  return {
    rejected: parsed.value.flatMap((r) => (r.kind === "rejected" ? [`${ROOT_FILES_TOOL} rejected ${r.path}: ${lines(r.message).join(" | ")}`] : [])),
  };
}

export async function removeStaged(shell: ServerShell, staged: StagedFile[]): Promise<void> {
  if (staged.length === 0) return;
  await runStep(shell, plainStep({ name: "removing the staged files", script: `rm -f ${staged.map((s) => shell.path(s.staged)).join(" ")}` }));
}

export function stagingFailed(host: string, failures: string[]): GenError {
  return new GenError(`apply stopped on ${host}: a file failed its check; nothing was changed`, { details: failures });
}
