// The local half of a release: the checkout must be on the branch being deployed, hold the folders the environment
// names, and have nothing uncommitted in what the release is made of; its commit is described in deployment.json.
// Effects: runs git in the checkout, looks at its folders, reads nothing else.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";

const exec = promisify(execFile);

export interface CommitInfo {
  branch: string;
  hash: string;
  author: string;
  date: string;
  title: string;
}

async function git(repoDir: string, args: string[], trim = true): Promise<string> {
  try {
    const { stdout } = await exec("git", args, { cwd: repoDir });
    return trim ? stdout.trim() : stdout;
  } catch (error) {
    const e = error as { stderr?: string; code?: string };
    // A missing working folder makes the spawn fail with ENOENT too.
    if (e.code === "ENOENT" && !existsSync(repoDir)) throw new GenError(`there is no folder ${repoDir} (the checkout to deploy: --repo)`);
    if (e.code === "ENOENT") throw new GenError("git is not installed: install the Debian package git");
    throw new GenError(`git ${args.join(" ")} failed in ${repoDir}: ${(e.stderr ?? String(error)).trim()}`);
  }
}

/** A branch name git itself accepts; refused before anything runs. */
export async function checkBranchName(branch: string): Promise<void> {
  if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.startsWith("-")) throw new GenError(`"${branch}" is not a valid branch name`);
  try {
    await exec("git", ["check-ref-format", "--branch", branch]);
  } catch {
    throw new GenError(`"${branch}" is not a valid branch name (git check-ref-format refused it)`);
  }
}

export async function readCommit(repoDir: string, branch: string): Promise<CommitInfo> {
  await checkBranchName(branch);
  const current = await git(repoDir, ["rev-parse", "--abbrev-ref", "HEAD"]);
  if (current !== branch) {
    throw new GenError(
      `the checkout in ${repoDir} is on branch ${current}, not ${branch}: check out ${branch} (git switch ${branch}) or pass --branch ${current}`,
    );
  }
  const [hash, author, date, title] = (await git(repoDir, ["log", "-1", "--format=%H%x00%ae%x00%cI%x00%s"])).split("\0");
  return { branch, hash: hash!, author: author!, date: date!, title: title! };
}

/**
 * The folders a release takes from the checkout exist, before any command runs: the backend's folder in the commit,
 * and the front end's folder in the checkout, where its build runs. A command started in a folder that is not there
 * would run elsewhere (npm looks for package.json in the folders above) or not at all.
 */
export async function checkConfiguredFolders(repoDir: string, commit: string, env: Environment): Promise<void> {
  const missing: string[] = [];
  const folder = env.release.repositoryFolder;
  if (folder !== "." && (await git(repoDir, ["cat-file", "-t", `${commit}:${folder}`]).catch(() => "")) !== "tree")
    missing.push(
      `the backend's folder ${folder}/ (release.repositoryFolder) is not in commit ${commit.slice(0, 12)}: set release.repositoryFolder to the folder that holds manage.py ("." for the repository's root)`,
    );
  const frontend = env.release.frontend;
  if (frontend !== null) {
    const dir = resolve(repoDir, frontend.dir);
    const isDir = await stat(dir).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (!isDir)
      missing.push(
        `the front end's folder ${dir} (release.frontend.dir) does not exist: correct release.frontend.dir, or set release.frontend to null when the application has no front end`,
      );
  }
  if (missing.length > 0) throw new GenError(`${missing.join("; ")}; nothing was run`);
}

/** The git checkout `dir` is in (its top folder), or `dir` itself when it is in none (readCommit then says so). */
export async function checkoutOf(dir: string): Promise<string> {
  try {
    return (await exec("git", ["rev-parse", "--show-toplevel"], { cwd: dir })).stdout.trim() || dir;
  } catch {
    return dir;
  }
}

/**
 * Refuses a checkout whose `folders` (the backend and the front end, relative to it) differ from its commit: changed,
 * staged, or new and not ignored. The backend is released from the commit and the front end built from the folder,
 * so either way the release would not be the commit it names. `buildOutput`, where the front-end build writes (undefined
 * without a front end), is left out: it is what the build makes (an earlier deploy's build is there, ignored or not, as in gen's sample app
 * copied out of the package, which npm ships without its .gitignore).
 */
export async function refuseUncommitted(repoDir: string, folders: string[], buildOutput: string | undefined): Promise<void> {
  const paths = ["--", ...folders, ...(buildOutput === undefined ? [] : [`:(exclude)${buildOutput}`])];
  // Not trimmed: each entry starts with its two status letters, the first of which may be a space.
  const entries = (await git(repoDir, ["status", "--porcelain=v1", "-z", "--untracked-files=all", ...paths], false)).split("\0");
  const files: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.length < 4) continue;
    files.push(entry.slice(3));
    // A rename or copy is followed by the path it came from.
    if (/^[RC]/.test(entry)) i++;
  }
  if (files.length === 0) return;
  files.sort();
  const shown = files.slice(0, 5).join(", ") + (files.length > 5 ? ` and ${files.length - 5} more` : "");
  throw new GenError(
    `the checkout in ${repoDir} has uncommitted changes in ${folders.join(" or ")}: ${shown}; the release would not be the commit it names (the front end is built from the files as they are, the backend taken from the commit): commit them, or pass --allow-dirty to deploy anyway`,
  );
}

/** A tar archive of one folder of the current commit, for the `archive` source. */
export async function archiveCommit(repoDir: string, commit: string, folder: string): Promise<Buffer> {
  try {
    const { stdout } = await exec("git", ["archive", "--format=tar", commit, folder], { cwd: repoDir, encoding: "buffer", maxBuffer: 512 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    throw new GenError(`git archive of ${folder} failed in ${repoDir}: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`);
  }
}
