// The local half of a release: the checkout must be on the branch being deployed; its commit is described in
// deployment.json. Effects: runs git in the checkout, reads nothing else.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GenError } from "../errors.js";

const exec = promisify(execFile);

export interface CommitInfo {
  branch: string;
  hash: string;
  author: string;
  date: string;
  title: string;
}

async function git(repoDir: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec("git", args, { cwd: repoDir });
    return stdout.trim();
  } catch (error) {
    const e = error as { stderr?: string; code?: string };
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

/** A tar archive of one folder of the current commit, for the `archive` source. */
export async function archiveCommit(repoDir: string, commit: string, folder: string): Promise<Buffer> {
  try {
    const { stdout } = await exec("git", ["archive", "--format=tar", commit, folder], { cwd: repoDir, encoding: "buffer", maxBuffer: 512 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    throw new GenError(`git archive of ${folder} failed in ${repoDir}: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`);
  }
}
