// Reads what the SSH user may not: `sudo -n stat` for the metadata, `sudo -n cat`/`readlink` for content.
// `sudo -n` never prompts: a sudoers rule without NOPASSWD gives "unreadable" with sudo's own words.

import type { ReadResult, RemoteStat } from "./transport.js";
import type { ExecOutput } from "./ssh-exec.js";
import { quoteArgv } from "./shell-quote.js";

export type RunCommand = (command: string) => Promise<ExecOutput>;

const STAT_FORMAT = "%a %U %G %s %F";

export type SudoStatResult = { status: "ok"; stat: RemoteStat } | { status: "missing" } | { status: "unreadable"; reason: string };

export async function sudoStat(run: RunCommand, path: string): Promise<SudoStatResult> {
  const result = await run(sudoCommand(["stat", "-c", STAT_FORMAT, "--", path]));
  if (result.exitCode !== 0) return classifyFailure(result.stderr.toString("utf8"));
  const stat = parseStatLine(result.stdout.toString("utf8"));
  if (!stat) return { status: "unreadable", reason: `unexpected output from sudo -n stat: ${result.stdout.toString("utf8").trim()}` };
  if (stat.type === "symlink") {
    const link = await run(sudoCommand(["readlink", "--", path]));
    if (link.exitCode === 0) stat.linkTarget = link.stdout.toString("utf8").replace(/\n$/, "");
  }
  return { status: "ok", stat };
}

export async function sudoReadFile(run: RunCommand, path: string): Promise<ReadResult> {
  const stat = await sudoStat(run, path);
  if (stat.status !== "ok") return stat;
  if (stat.stat.type !== "file") return { status: "ok", file: { content: Buffer.alloc(0), stat: stat.stat } };
  return sudoCat(run, path, stat.stat);
}

/** Content only, for when the metadata is already known (SFTP could stat the file but not open it). */
export async function sudoCat(run: RunCommand, path: string, stat: RemoteStat): Promise<ReadResult> {
  const result = await run(sudoCommand(["cat", "--", path]));
  if (result.exitCode !== 0) return classifyFailure(result.stderr.toString("utf8"));
  return { status: "ok", file: { content: result.stdout, stat } };
}

export type SudoListResult = { status: "ok"; names: string[] } | { status: "missing" } | { status: "unreadable"; reason: string };

export async function sudoList(run: RunCommand, path: string): Promise<SudoListResult> {
  const result = await run(sudoCommand(["find", path, "-mindepth", "1", "-maxdepth", "1", "-printf", "%f\\0"]));
  if (result.exitCode !== 0) return classifyFailure(result.stderr.toString("utf8"));
  const names = result.stdout
    .toString("utf8")
    .split("\0")
    .filter((name) => name !== "");
  return { status: "ok", names: names.sort() };
}

// C locale so the error text below is English whatever the server's language; sudo keeps LC_* by default.
function sudoCommand(argv: string[]): string {
  return `LC_ALL=C ${quoteArgv(["sudo", "-n", ...argv])}`;
}

function classifyFailure(stderr: string): { status: "missing" } | { status: "unreadable"; reason: string } {
  if (/No such file or directory|Not a directory/.test(stderr)) return { status: "missing" };
  const firstLine = stderr.trim().split("\n")[0] ?? "";
  return { status: "unreadable", reason: firstLine.startsWith("sudo:") ? `sudo -n refused: ${firstLine}` : firstLine };
}

/** `644 root root 12 regular file` -> RemoteStat (the file type is last because it may hold spaces). */
export function parseStatLine(line: string): RemoteStat | undefined {
  const match = /^([0-7]+) (\S+) (\S+) (\d+) (.+)$/.exec(line.trim());
  if (!match) return undefined;
  const [, mode, owner, group, size, kind] = match as unknown as [string, string, string, string, string, string];
  return { type: fileType(kind), mode: mode.padStart(4, "0"), owner, group, size: Number(size) };
}

function fileType(kind: string): RemoteStat["type"] {
  if (kind === "regular file" || kind === "regular empty file") return "file";
  if (kind === "directory") return "directory";
  if (kind === "symbolic link") return "symlink";
  return "other";
}
