// Staging: every changed file is sent, then installed beside its target (same filesystem, so the final
// rename is atomic) with its final mode and owner, and checked there with the real tool before anything moves.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { RenderedFile } from "../types.js";
import { pinFolderLines, pinned, refusalLines } from "../server/link-safe.js";
import type { Step } from "../transport/transport.js";
import { outputLines, sudoRefusedHint, type ServerShell, type StepOutput } from "../server/server-shell.js";

export interface StagedFile {
  entry: PlanEntry;
  staged: string;
}

export function stagedPath(path: string, applyId: string): string {
  return posix.join(posix.dirname(path), `.gen-stage.${applyId}.${posix.basename(path)}`);
}

export function incomingDir(stateDir: string, applyId: string): string {
  return `${stateDir}/incoming-${applyId}`;
}

/** This apply's scratch folder on the server (the record passes through it); left behind, it marks an interrupted apply. */
export function prepareIncomingScript(shell: ServerShell, env: Environment, applyId: string): string {
  const owner = shell.quote(env.server.sshUser);
  return `install -d -m 0700 ${shell.sudo ? `-o ${owner} ` : ""}${shell.path(incomingDir(env.server.stateDir, applyId))}`;
}

/**
 * Each file travels as the input of its own step and is installed straight from it with its final mode and
 * owner (install creates it private, then sets them), all steps chained: no upload channel.
 */
export function stageSteps(
  shell: ServerShell,
  entries: PlanEntry[],
  rendered: Map<string, RenderedFile>,
  applyId: string,
): { staged: StagedFile[]; steps: Step[] } {
  const staged = entries.map((entry) => ({ entry, staged: stagedPath(entry.path, applyId) }));
  // Each file is written through its pinned folder: a folder swapped for a link after the preflight is refused.
  const steps = staged.map(({ entry, staged: target }, i): Step => {
    const dir = posix.dirname(entry.path);
    const into = pinned(shell, posix.basename(target));
    const { mode, owner: user, group } = entry.desired;
    const write =
      entry.kind === "symlink"
        ? `ln -sfn ${shell.quote(entry.desired.linkTarget!)} ${into}`
        : `install -m ${shell.quote(mode)} ${shell.sandbox ? "" : `-o ${shell.quote(user)} -g ${shell.quote(group)} `}/dev/stdin ${into}`;
    return {
      name: `staging ${entry.path}`,
      afterSuccess: i > 0,
      ...(entry.kind === "symlink" ? {} : { stdin: rendered.get(entry.path)!.content }),
      // `[ -d ]` is the shell's own test: mkdir runs (a process) only for a folder that is missing.
      script: ["set -e", `[ -d ${shell.path(dir)} ] || mkdir -p ${shell.path(dir)}`, ...pinFolderLines(shell, dir), write].join("\n"),
    };
  });
  return { staged, steps };
}

/** A failed staging step removes what was staged and fails the apply, naming the step's output. */
export async function stagingOutcome(shell: ServerShell, staged: StagedFile[], runs: StepOutput[]): Promise<void> {
  const failed = runs.find((run) => !run.skipped && run.exitCode !== 0);
  if (!failed) return;
  await removeStaged(shell, staged);
  throw new GenError(`staging the changed files failed on ${shell.transport.describe} (exit ${failed.exitCode})`, {
    details: [...refusalLines(outputLines(failed)), ...sudoRefusedHint(shell.sudo, failed)],
  });
}

export async function removeStaged(shell: ServerShell, staged: StagedFile[]): Promise<void> {
  if (staged.length === 0) return;
  await shell.script(`rm -f ${staged.map((s) => shell.path(s.staged)).join(" ")}`, "removing the staged files");
}

export function stagingFailed(host: string, failures: string[]): GenError {
  return new GenError(`apply stopped on ${host}: a file failed its check; nothing was changed`, { details: failures });
}
