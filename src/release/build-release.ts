// Step 5 of a release, as steps and uploads (deploy-release.ts sends them): a new folder under releases/ with the
// backend code, its dependencies, the settings link, the release tasks, the front end and deployment.json.
// Effects: only the uploads (over their own connection); everything else is a step for the caller to send.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { outputLines, statusStep, type ServerShell, type StepOutput } from "../server/server-shell.js";
import type { Parsed } from "../transport/step-records.js";
import type { CommandResult, Uploader } from "../transport/transport.js";
import { chain, combine, optional, plainStep, SKIPPED, type StepGroup, type TypedStep } from "../transport/typed-steps.js";
import type { CommitInfo } from "./local-checks.js";
import { commandScript, writeFileStep } from "./release-steps.js";

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
 * The steps that put exactly the checked commit's backend/ into the release, read into the commit the server has:
 * fetched by hash (a remote without it is refused, naming it), or unpacked from an archive of it (archiveUpload put
 * it there first). One chain: a part of the release's first round trip after the lock.
 */
export function fetchSteps(shell: ServerShell, env: Environment, releaseDir: string, source: ReleaseSource, out: ReleaseOutput): StepGroup<string> {
  if (source.kind === "archive") return archiveSteps(shell, env, releaseDir, out);
  if (!env.release.repository) throw new GenError("release.repository is not set: name the git repository to clone, or deploy with --source archive");
  out.onCommand(`$ ${CLONE_COMMANDS(shell, env, releaseDir, source.commit)[0]!.join(" ")}`);
  out.onCommand(`$ git fetch --depth 1 ${env.release.repository} ${source.commit}`);
  return cloneSteps(shell, env, releaseDir, source.commit);
}

/** Where the archive goes: inside the release folder, which the lock's round trip made. */
export const archivePath = (releaseDir: string) => `${releaseDir}/.backend.tar`;

/** The archive unpacked (its folder moved to the backend's when they are named apart), its commit read, the archive removed. */
function archiveSteps(shell: ServerShell, env: Environment, releaseDir: string, out: ReleaseOutput): StepGroup<string> {
  const tar = archivePath(releaseDir);
  // The archive holds the repository's folder as it is named there; the release's backend folder may be named otherwise.
  const moved = env.release.repositoryFolder !== env.paths.backendDir;
  const into = moved ? `${releaseDir}/.checkout` : releaseDir;
  const extract = ["tar", "-x", "-f", shell.raw(tar), "-C", shell.raw(into)];
  out.onCommand(`$ ${extract.join(" ")}`);
  const unpacked = chain(
    optional(moved ? statusStep(shell, "creating the archive's folder", `mkdir ${shell.path(into)}`) : undefined),
    { name: `\`${extract.join(" ")}\``, script: commandScript(shell, extract), parse: (run) => parseCommand(extract, run) },
    optional(moved ? keepBackendStep(shell, env, releaseDir) : undefined),
    archiveCommitStep(shell, tar),
  );
  return combine([unpacked], ([[, , , commit]]) =>
    commit === SKIPPED
      ? { ok: false, error: new GenError(`internal error: the archive was not read on ${shell.transport.describe}`) }
      : { ok: true, value: commit },
  );
}

const ARCHIVE_COMMIT = "reading the commit of the archive";

/** The commit an archive was made of (git archive records it), the archive removed. */
export function archiveCommitStep(shell: ServerShell, tar: string): TypedStep<string> {
  return {
    name: ARCHIVE_COMMIT,
    script: `git get-tar-commit-id < ${shell.path(tar)}; rm -f ${shell.path(tar)}`,
    parse: (run) => parseServerCommit(ARCHIVE_COMMIT, shell.transport.describe, run),
  };
}

/** git's last line: a commit hash (SHA-1 or SHA-256), or nothing when the archive names none. */
export function parseServerCommit(step: string, where: string, run: CommandResult): Parsed<string> {
  if (run.exitCode !== 0) return { ok: false, error: new GenError(`${step} failed on ${where} (exit ${run.exitCode})`, { details: outputLines(run) }) };
  const last = run.stdout.trim().split("\n").pop() ?? "";
  if (last !== "" && !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(last))
    return { ok: false, error: new GenError(`${step} on ${where}: git printed ${JSON.stringify(last)}, not a commit hash`) };
  return { ok: true, value: last };
}

const CLONE_COMMANDS = (shell: ServerShell, env: Environment, releaseDir: string, commit: string): string[][] => {
  const checkout = shell.raw(`${releaseDir}/.checkout`);
  return [
    ["git", "init", "--quiet", checkout],
    ["git", "-C", checkout, "fetch", "--quiet", "--depth", "1", "--", env.release.repository ?? "", commit],
  ];
};

/**
 * One chain, one round trip: an empty repository, the commit fetched by hash, checked out, its backend/ kept. Its
 * value: the commit checked out; a remote without the commit is named as such.
 */
export function cloneSteps(shell: ServerShell, env: Environment, releaseDir: string, commit: string): StepGroup<string> {
  const [init, fetch] = CLONE_COMMANDS(shell, env, releaseDir, commit);
  const checkout = shell.path(`${releaseDir}/.checkout`);
  const where = shell.transport.describe;
  const failed = (run: StepOutput, message: string, lines: number): Parsed<void> =>
    run.exitCode === 0 ? { ok: true, value: undefined } : { ok: false, error: new GenError(message, { details: outputLines(run).slice(-lines) }) };
  const initName = `\`${init!.join(" ")}\``;
  const cloned = chain(
    { name: initName, script: commandScript(shell, init!), parse: (run) => failed(run, `${initName} failed (exit ${run.exitCode})`, 20) },
    {
      name: `fetching ${commit}`,
      script: commandScript(shell, fetch!),
      parse: (run) =>
        failed(
          run,
          `${env.release.repository} does not have commit ${commit} (the one checked locally): push it (git push), or deploy with --source archive`,
          5,
        ),
    },
    {
      name: "checking out the fetched commit",
      script: `git -C ${checkout} checkout --quiet FETCH_HEAD && git -C ${checkout} rev-parse HEAD`,
      parse: (run) => parseServerCommit("checking out the fetched commit", where, run),
    },
    keepBackendStep(shell, env, releaseDir),
  );
  // The chain stops at the first failure, whose parser names it: past that, every step ran.
  return combine([cloned], ([[, , head]]) =>
    head === SKIPPED ? { ok: false, error: new GenError(`internal error: the checkout did not run on ${where}`) } : { ok: true, value: head },
  );
}

/** The repository's folder (release.repositoryFolder) of the checkout in .checkout becomes the release's backend folder. */
export function keepBackendStep(shell: ServerShell, env: Environment, releaseDir: string): TypedStep<void> {
  const checkout = shell.path(`${releaseDir}/.checkout`);
  const backend = shell.path(`${releaseDir}/${env.paths.backendDir}`);
  const folder = env.release.repositoryFolder;
  // The repository's root is the backend: all of it moves, but git's own folder.
  const script =
    folder === "."
      ? `rm -rf ${shell.path(`${releaseDir}/.checkout/.git`)} && mv ${checkout} ${backend}`
      : `mv ${shell.path(`${releaseDir}/.checkout/${folder}`)} ${backend} && rm -rf ${checkout}`;
  const kept = folder === "." ? "the whole checkout" : `only ${folder}/ of the checkout`;
  return statusStep(shell, `keeping ${kept}${folder === env.paths.backendDir ? "" : ` as ${env.paths.backendDir}/`}`, script);
}

/** What making a release's folder found: made new, or there already, another release's (never touched). */
export type ReleaseFolder = "made" | "taken";

/** Exit status of the release folder's step when the name is taken: any other failure is an error. */
const TAKEN = 17;

/** The release's folder, new: one that exists already belongs to another release and is never touched. */
export function createReleaseStep(shell: ServerShell, releaseDir: string): TypedStep<ReleaseFolder> {
  const dir = shell.path(releaseDir);
  const name = `creating ${releaseDir}`;
  return {
    name,
    script: `mkdir ${dir} && exit 0\n{ [ -e ${dir} ] || [ -L ${dir} ]; } && exit ${TAKEN}\nexit 1`,
    parse: (run) => parseCreateRelease(name, shell.transport.describe, run),
  };
}

export function parseCreateRelease(name: string, where: string, run: CommandResult): Parsed<ReleaseFolder> {
  if (run.exitCode === 0) return { ok: true, value: "made" };
  if (run.exitCode === TAKEN) return { ok: true, value: "taken" };
  return { ok: false, error: new GenError(`${name} failed on ${where} (exit ${run.exitCode})`, { details: outputLines(run) }) };
}

/** The error of a release folder still taken after waiting for the next second (a clock that went back). */
export function releaseTakenError(release: string, where: string): GenError {
  return new GenError(`release ${release} already exists on ${where}: deploy again in a second`);
}

/** A half-made release goes whole (a failure here leaves it for pruning). */
export function removeReleaseStep(shell: ServerShell, releaseDir: string): TypedStep<StepOutput> {
  return plainStep({ name: `removing ${releaseDir}`, script: `rm -rf ${shell.path(releaseDir)}` });
}

/** The release's public folder, for deployment.json, when there is no front end to upload into it. */
export function publicFolderStep(shell: ServerShell, env: Environment, releaseDir: string): TypedStep<void> {
  // Not mkdir -p: it runs after the release folder's step whatever that found, and where that step could not make
  // the folder, -p made it (and the releases folder) anyway, a half-made release that nothing removed.
  return statusStep(shell, "creating the public folder", `mkdir ${shell.path(`${releaseDir}/${env.paths.publicDir}`)}`);
}

/** settings_local.py (apply's, in paths.config) linked where the backend reads it. */
export function settingsLinkStep(shell: ServerShell, env: Environment, releaseDir: string): TypedStep<void> {
  const link = `${releaseDir}/${env.paths.backendDir}/${env.release.settingsLink}`;
  return statusStep(
    shell,
    "linking settings_local.py",
    `mkdir -p ${shell.path(posix.dirname(link))} && ln -sfn ${shell.path(`${env.paths.config}/settings_local.py`)} ${shell.path(link)}`,
  );
}

/**
 * A command of the environment's (release.install, release.tasks) as a step in the release's folder: its output goes
 * to the operator as it comes (a dependency install takes minutes), and it only has to succeed.
 */
export function commandStep(shell: ServerShell, argv: string[], cwd: string, out: ReleaseOutput): TypedStep<void> {
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  return {
    name: `\`${argv.join(" ")}\``,
    script: commandScript(shell, argv, cwd),
    onOutput: (chunk, stream) => out.onOutput(decoders[stream].decode(chunk, { stream: true })),
    parse: (run) => parseCommand(argv, run),
  };
}

/** A host's upload connection: opened on first use, or early (start) for a release that will upload. */
export interface Uploads {
  get(): Promise<Uploader>;
  /** Starts opening the connection now, so that it is there when the release folder is. */
  start(): void;
  /** Ends the connection if it was opened (once: later calls wait for that). */
  close(): Promise<void>;
}

/** `open` opens the connection (transport.openUploader, or once the host's connection is there): on first use, or start(). */
export function lazyUploads(open: () => Promise<Uploader>): Uploads {
  let opened: Promise<Uploader> | undefined;
  let closed: Promise<void> | undefined;
  const get = () => (opened ??= open());
  const close = async () => {
    const uploader = await opened?.catch(() => undefined);
    await uploader?.close();
  };
  return {
    get,
    start: () => void get().catch(() => {}),
    close: () => (closed ??= close()),
  };
}

/** The backend's archive into the release folder, for archiveSteps to unpack. */
export async function putArchive(uploads: Uploads, releaseDir: string, archive: Buffer): Promise<void> {
  await (await uploads.get()).putFile(archivePath(releaseDir), archive, "0600");
}

/**
 * Uploads the build output into public/, many files at once, `total` of them. `stop` throwing starts no further file,
 * and is thrown once the uploads under way have ended: the caller removes the release next, which an upload still
 * writing into it would make fail. The files get the server's default modes: frontendReadableStep then makes them
 * readable to nginx.
 */
export async function putFrontend(
  uploads: Uploads,
  env: Environment,
  releaseDir: string,
  frontend: { dir: string; total: number },
  out: ReleaseOutput,
  stop = () => {},
): Promise<void> {
  let sent = 0;
  stop();
  await (await uploads.get()).putFolder(frontend.dir, `${releaseDir}/${env.paths.publicDir}`, () => {
    stop();
    out.onUpload(++sent, frontend.total);
  });
}

/** The web user is not the deploy user: uploaded files 0644 and folders 0755, whatever the umask made them. */
export function frontendReadableStep(shell: ServerShell, env: Environment, releaseDir: string): TypedStep<void> {
  return statusStep(shell, "making the front end readable", `chmod -R u=rwX,go=rX -- ${shell.path(`${releaseDir}/${env.paths.publicDir}`)}`);
}

export interface DeploymentInfo {
  commit: CommitInfo;
  serverCommit: string;
  deployedAt: string;
  release: string;
}

/** Public (nginx serves public/): who deployed is kept in the server's deploy log, not here. */
export function deploymentJsonStep(shell: ServerShell, env: Environment, releaseDir: string, info: DeploymentInfo): TypedStep<void> {
  const body = `${JSON.stringify({ ...info.commit, hash: info.serverCommit, release: info.release, deployedAt: info.deployedAt }, null, 2)}\n`;
  return writeFileStep(shell, `${releaseDir}/${env.paths.publicDir}/deployment.json`, body, "0644");
}

/** A command whose output streams to the operator (install, tasks): it only has to succeed. */
export function parseCommand(argv: string[], result: CommandResult): Parsed<void> {
  if (result.exitCode === 0) return { ok: true, value: undefined };
  return { ok: false, error: new GenError(`\`${argv.join(" ")}\` failed (exit ${result.exitCode})`, { details: outputLines(result).slice(-20) }) };
}
