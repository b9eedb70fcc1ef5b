// Staging: every changed file is uploaded, then installed beside its target (same filesystem, so the final
// rename is atomic) with its final mode and owner, and checked there with the real tool before anything moves.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { RenderedFile } from "../types.js";
import { pinFolderLines, pinned } from "./link-safe.js";
import type { ServerShell } from "./server-shell.js";

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

/** The folder the SSH user uploads into (SFTP cannot sudo); files are installed from there with their owner. */
export function prepareIncomingScript(shell: ServerShell, env: Environment, applyId: string): string {
  const owner = shell.quote(env.server.sshUser);
  return `install -d -m 0700 ${shell.sudo ? `-o ${owner} ` : ""}${shell.path(incomingDir(env.server.stateDir, applyId))}`;
}

export async function stageFiles(shell: ServerShell, env: Environment, entries: PlanEntry[], rendered: Map<string, RenderedFile>, applyId: string): Promise<StagedFile[]> {
  const incoming = incomingDir(env.server.stateDir, applyId);
  await Promise.all(
    entries.map((entry, i) => (entry.kind === "symlink" ? undefined : shell.transport.writeFile(`${incoming}/${i}`, rendered.get(entry.path)!.content, "0600"))),
  );
  const staged = entries.map((entry) => ({ entry, staged: stagedPath(entry.path, applyId) }));
  // Each file is written through its pinned folder: a folder swapped for a link after the preflight is refused.
  const lines = staged.map(({ entry, staged: target }, i) => {
    const dir = posix.dirname(entry.path);
    const into = pinned(shell, posix.basename(target));
    const { mode, owner: user, group } = entry.desired;
    const write = entry.kind === "symlink"
      ? `ln -sfn ${shell.quote(entry.desired.linkTarget!)} ${into}`
      : `install -m ${shell.quote(mode)} -o ${shell.quote(user)} -g ${shell.quote(group)} ${shell.path(`${incoming}/${i}`)} ${into}`;
    return [`mkdir -p ${shell.path(dir)}`, "(", ...pinFolderLines(shell, dir), write, ")"].join("\n");
  });
  try {
    await shell.must("staging the changed files", ["set -e", ...lines].join("\n"));
  } catch (error) {
    await removeStaged(shell, staged);
    throw error;
  }
  return staged;
}

export async function removeStaged(shell: ServerShell, staged: StagedFile[]): Promise<void> {
  if (staged.length === 0) return;
  await shell.script(`rm -f ${staged.map((s) => shell.path(s.staged)).join(" ")}`);
}

export function stagingFailed(host: string, failures: string[]): GenError {
  return new GenError(`apply stopped on ${host}: a file failed its check; nothing was changed`, { details: failures });
}
