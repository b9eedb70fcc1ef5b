// Staging: every changed file is uploaded, then installed beside its target (same filesystem, so the final
// rename is atomic) with its final mode and owner, and checked there with the real tool before anything moves.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { RenderedFile } from "../types.js";
import { outputLines, type ServerShell } from "./server-shell.js";

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
export async function prepareIncoming(shell: ServerShell, env: Environment, applyId: string): Promise<void> {
  const owner = shell.quote(env.server.sshUser);
  await shell.must("preparing the upload folder", `install -d -m 0700 ${shell.sudo ? `-o ${owner} ` : ""}${shell.path(incomingDir(env.server.stateDir, applyId))}`);
}

export async function stageFiles(shell: ServerShell, env: Environment, entries: PlanEntry[], rendered: Map<string, RenderedFile>, applyId: string): Promise<StagedFile[]> {
  const incoming = incomingDir(env.server.stateDir, applyId);
  await Promise.all(
    entries.map((entry, i) => (entry.kind === "symlink" ? undefined : shell.transport.writeFile(`${incoming}/${i}`, rendered.get(entry.path)!.content, "0600"))),
  );
  const staged = entries.map((entry) => ({ entry, staged: stagedPath(entry.path, applyId) }));
  const lines = staged.map(({ entry, staged: target }, i) => {
    const dir = `mkdir -p ${shell.path(posix.dirname(entry.path))}`;
    if (entry.kind === "symlink") return `${dir} && ln -sfn ${shell.quote(entry.desired.linkTarget!)} ${shell.path(target)}`;
    const { mode, owner: user, group } = entry.desired;
    return `${dir} && install -m ${shell.quote(mode)} -o ${shell.quote(user)} -g ${shell.quote(group)} ${shell.path(`${incoming}/${i}`)} ${shell.path(target)}`;
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

/**
 * Runs the real tool on each staged file; returns one message per failure (empty: all passed).
 * `installedUnits`: the other managed units, unchanged and in place, which staged units may refer to.
 */
export async function checkStaged(shell: ServerShell, env: Environment, staged: StagedFile[], applyId: string, installedUnits: string[] = []): Promise<string[]> {
  const byKind = (kind: string) => staged.filter((s) => s.entry.kind === kind);
  const checks = [
    ...byKind("sudoers").map((s) => checkOne(shell, s, ["visudo", "-cf", shell.raw(s.staged)], (r) => r.exitCode !== 0)),
    ...byKind("python-settings").map((s) =>
      checkOne(shell, s, ["python3", "-W", "error", "-c", "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')", shell.raw(s.staged)], (r) => r.exitCode !== 0),
    ),
    ...byKind("logrotate").map((s) =>
      checkOne(shell, s, ["logrotate", "-d", "-s", shell.raw(`${env.server.stateDir}/logrotate-check.status`), shell.raw(s.staged)], (r) => r.exitCode !== 0 || /^error:/m.test(r.stderr + r.stdout)),
    ),
  ];
  const units = byKind("systemd-unit");
  const failures = (await Promise.all(checks)).flat();
  if (units.length > 0) failures.push(...(await checkUnits(shell, env, units, installedUnits, applyId)));
  return failures;
}

async function checkOne(shell: ServerShell, file: StagedFile, argv: string[], failed: (r: { exitCode: number; stdout: string; stderr: string }) => boolean): Promise<string[]> {
  const result = await shell.run(argv);
  if (!failed(result)) return [];
  const lines = outputLines(result).filter((l) => !/^(reading config|Handling|Reading state|state file|considering|Creating new state|log does not need|  )/.test(l));
  return [`${argv[0]} rejected ${file.entry.path} (exit ${result.exitCode}): ${lines.join(" | ").replaceAll(shell.raw(file.staged), file.entry.path)}`];
}

/**
 * Units are verified together under their real names, the staged ones with the unchanged managed ones beside
 * them, so that they can refer to each other (Requires=x.socket) wherever the unit folder is.
 */
async function checkUnits(shell: ServerShell, env: Environment, units: StagedFile[], installedUnits: string[], applyId: string): Promise<string[]> {
  const dir = `${env.server.stateDir}/verify-${applyId}`;
  const copies = units.map((u) => `${dir}/${posix.basename(u.entry.path)}`);
  const siblings = installedUnits.map((path) => `cp ${shell.path(path)} ${shell.path(`${dir}/${posix.basename(path)}`)}`);
  await shell.must("preparing the unit check", [`mkdir -p ${shell.path(dir)}`, ...units.map((u, i) => `cp ${shell.path(u.staged)} ${shell.path(copies[i]!)}`), ...siblings].join("\n"));
  try {
    const result = await shell.run(["systemd-analyze", "verify", "--man=no", ...copies.map((c) => shell.raw(c))]);
    const external = env.server.systemServices.map((s) => `${s}.service`);
    const problems = outputLines(result).filter((line) => !isEnvironmental(line, external));
    if (problems.length === 0) return [];
    return [`systemd-analyze rejected ${units.map((u) => u.entry.path).join(", ")}: ${problems.join(" | ").replaceAll(shell.raw(dir), posix.dirname(units[0]!.entry.path))}`];
  } finally {
    await shell.script(`rm -rf ${shell.path(dir)}`);
  }
}

/** Messages about this machine rather than the unit: a binary the release installs later, a declared external unit. */
function isEnvironmental(line: string, externalUnits: string[]): boolean {
  if (/Command .* is not executable: No such file or directory/.test(line)) return true;
  return externalUnits.some((unit) => line.includes(`Unit ${unit} not found`));
}

export function stagingFailed(host: string, failures: string[]): GenError {
  return new GenError(`apply stopped on ${host}: a file failed its check; nothing was changed`, { details: failures });
}
