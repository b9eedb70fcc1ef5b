// Step 5 of a release: a new folder under releases/ with the backend code, its dependencies, the settings link,
// the release tasks, the front end and deployment.json. Effects: commands and uploads through the transport.
import { posix } from "node:path";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import type { ServerShell } from "../apply/server-shell.js";
import { outputLines } from "../apply/server-shell.js";
import { orThrow, type Parsed } from "../transport/step-records.js";
import type { CommandResult, Step } from "../transport/transport.js";
import type { CommitInfo } from "./local-checks.js";
import { runSteps, writeFileStep } from "./release-steps.js";

export interface ReleaseSource {
  kind: "clone" | "archive";
  branch: string;
  /** The hash of the local commit that was checked: exactly this is deployed. */
  commit: string;
  /** For "archive": a tar of the backend folder of the local commit. */
  archive?: Buffer;
}

export interface ReleaseOutput {
  onCommand: (line: string) => void;
  onOutput: (chunk: string) => void;
  onUpload: (done: number, total: number) => void;
}

/**
 * Puts exactly the checked commit's backend/ into the release and returns the commit the server has, read there:
 * fetched by hash (a remote without it is refused, naming it), or unpacked from an archive of it.
 */
export async function fetchBackend(shell: ServerShell, env: Environment, releaseDir: string, source: ReleaseSource, out: ReleaseOutput): Promise<string> {
  const backend = `${releaseDir}/${env.paths.backendDir}`;
  if (source.kind === "archive") {
    const tar = `${releaseDir}/.backend.tar`;
    await shell.transport.writeFile(tar, source.archive!, "0600");
    await runChecked(shell, ["tar", "-x", "-f", shell.raw(tar), "-C", shell.raw(releaseDir)], out);
    const id = await shell.must("reading the commit of the archive", `git get-tar-commit-id < ${shell.path(tar)}; rm -f ${shell.path(tar)}`);
    return id.stdout.trim();
  }
  if (!env.release.repository) throw new GenError("release.repository is not set: name the git repository to clone, or deploy with --source archive");
  const checkout = `${releaseDir}/.checkout`;
  await runChecked(shell, ["git", "init", "--quiet", shell.raw(checkout)], out);
  out.onCommand(`$ git fetch --depth 1 ${env.release.repository} ${source.commit}`);
  const fetched = await shell.transport.run(["git", "-C", shell.raw(checkout), "fetch", "--quiet", "--depth", "1", "--", env.release.repository, source.commit]);
  if (fetched.exitCode !== 0) {
    throw new GenError(`${env.release.repository} does not have commit ${source.commit} (the one checked locally): push it (git push), or deploy with --source archive`, { details: outputLines(fetched).slice(-5) });
  }
  const head = await shell.must("checking out the fetched commit", `git -C ${shell.path(checkout)} checkout --quiet FETCH_HEAD && git -C ${shell.path(checkout)} rev-parse HEAD`);
  await shell.must(
    `keeping only ${env.paths.backendDir}/ of the checkout`,
    `mv ${shell.path(`${checkout}/${env.paths.backendDir}`)} ${shell.path(backend)} && rm -rf ${shell.path(checkout)}`,
  );
  return head.stdout.trim().split("\n").pop() ?? "";
}

/** The release's folder, new: one that exists already belongs to another release and is never touched. */
export function createReleaseStep(shell: ServerShell, releaseDir: string): Step {
  return { name: `creating ${releaseDir}`, script: `mkdir ${shell.path(releaseDir)}` };
}

export function parseCreateRelease(release: string, where: string, run: CommandResult): Parsed<void> {
  return run.exitCode === 0 ? { ok: true, value: undefined } : { ok: false, error: new GenError(`release ${release} already exists on ${where}: deploy again in a second`) };
}

/** A half-made release goes whole. */
export function removeReleaseStep(shell: ServerShell, releaseDir: string): Step {
  return { name: `removing ${releaseDir}`, script: `rm -rf ${shell.path(releaseDir)}` };
}

/** settings_local.py (apply's, in paths.config) linked where the backend reads it. */
export function settingsLinkStep(shell: ServerShell, env: Environment, releaseDir: string): Step {
  const link = `${releaseDir}/${env.paths.backendDir}/${env.release.settingsLink}`;
  return { name: "linking settings_local.py", script: `mkdir -p ${shell.path(posix.dirname(link))} && ln -sfn ${shell.path(`${env.paths.config}/settings_local.py`)} ${shell.path(link)}` };
}

export async function installBackend(shell: ServerShell, env: Environment, releaseDir: string, out: ReleaseOutput): Promise<void> {
  const backend = `${releaseDir}/${env.paths.backendDir}`;
  for (const argv of env.release.install) await runChecked(shell, argv, out, backend);
  await runSteps(shell, [settingsLinkStep(shell, env, releaseDir)]);
}

export async function runReleaseTasks(shell: ServerShell, env: Environment, releaseDir: string, out: ReleaseOutput): Promise<void> {
  for (const argv of env.release.tasks) await runChecked(shell, argv, out, `${releaseDir}/${env.paths.backendDir}`);
}

/** Uploads the build output into public/, many files at once (the transport bounds the SFTP requests). */
export async function uploadFrontend(shell: ServerShell, env: Environment, releaseDir: string, localDir: string, files: string[], out: ReleaseOutput): Promise<void> {
  const publicDir = `${releaseDir}/${env.paths.publicDir}`;
  const dirs = [...new Set(files.map((f) => posix.dirname(`${publicDir}/${f}`)))].sort();
  await shell.must("creating the front-end folders", `mkdir -p ${[publicDir, ...dirs].map((d) => shell.path(d)).join(" ")}`);
  let done = 0;
  const reads = pLimit(32);
  await Promise.all(
    files.map((file) =>
      reads(async () => {
        const content = await readFile(join(localDir, file));
        await shell.transport.writeFile(`${publicDir}/${file}`, content, "0644");
        out.onUpload(++done, files.length);
      }),
    ),
  );
}

export interface DeploymentInfo {
  commit: CommitInfo;
  serverCommit: string;
  deployedAt: string;
  release: string;
}

/** Public (nginx serves public/): who deployed is kept in the server's deploy log, not here. */
export function deploymentJsonStep(shell: ServerShell, env: Environment, releaseDir: string, info: DeploymentInfo): Step {
  const body = `${JSON.stringify({ ...info.commit, hash: info.serverCommit, release: info.release, deployedAt: info.deployedAt }, null, 2)}\n`;
  return writeFileStep(shell, `${releaseDir}/${env.paths.publicDir}/deployment.json`, body, "0644");
}

export async function writeDeploymentJson(shell: ServerShell, env: Environment, releaseDir: string, info: DeploymentInfo): Promise<void> {
  await runSteps(shell, [deploymentJsonStep(shell, env, releaseDir, info)]);
}

/** A command whose output streams to the operator (install, tasks): it only has to succeed. */
export function parseCommand(argv: string[], result: CommandResult): Parsed<void> {
  if (result.exitCode === 0) return { ok: true, value: undefined };
  return { ok: false, error: new GenError(`\`${argv.join(" ")}\` failed (exit ${result.exitCode})`, { details: outputLines(result).slice(-20) }) };
}

async function runChecked(shell: ServerShell, argv: string[], out: ReleaseOutput, cwd?: string): Promise<void> {
  out.onCommand(`$ ${argv.join(" ")}`);
  // On its own channel, not a step: its output is shown as it comes (a dependency install takes minutes).
  const result = await shell.transport.run(argv, { ...(cwd ? { cwd } : {}), onOutput: (chunk) => out.onOutput(chunk) });
  orThrow(parseCommand(argv, result));
}
