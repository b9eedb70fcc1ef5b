// Shared plumbing for the tool checks: find a binary on PATH, run it with an argument array,
// give each check a throwaway folder that is always removed, and build reports.
// Effects: spawns processes; creates and removes folders under options.tmpRoot (default os.tmpdir()).

import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { ToolName, ToolReport, ToolRunOptions } from "./tool-report.js";

export interface CommandOutput {
  /** null when the process was killed (timeout) or could not start. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not start or was killed. */
  failure?: string;
}

export interface CommandOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  timeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function timeoutOf(options: ToolRunOptions): number {
  return options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
}

export function envOf(options: ToolRunOptions): NodeJS.ProcessEnv {
  return options.env ?? process.env;
}

/** The first executable `name` in the PATH of `env`; `preferDirs` (when on PATH) win over PATH order. */
export async function findExecutable(name: string, env: NodeJS.ProcessEnv, preferDirs: string[] = []): Promise<string | undefined> {
  const dirs = (env.PATH ?? "").split(delimiter).filter((dir) => dir.startsWith("/"));
  const ordered = [...preferDirs.filter((dir) => dirs.includes(dir)), ...dirs];
  for (const dir of ordered) {
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Runs `file` with `args` (no shell); never rejects: a spawn failure or timeout is reported in `failure`. */
export function runCommand(file: string, args: string[], options: CommandOptions): Promise<CommandOutput> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: options.env, cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (!error) return resolve({ exitCode: 0, stdout, stderr });
        const code = (error as { code?: unknown }).code;
        if (typeof code === "number") return resolve({ exitCode: code, stdout, stderr });
        const failure = error.killed ? `killed after ${options.timeoutMs} ms (timeout)` : error.message;
        resolve({ exitCode: null, stdout, stderr, failure });
      },
    );
    child.stdin?.on("error", () => undefined); // the child may exit before reading its input
    child.stdin?.end(options.input ?? "");
  });
}

/** Makes a private folder, runs `work` in it and removes it afterwards, also when `work` throws. */
export async function withTempDir<T>(label: string, options: ToolRunOptions, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(options.tmpRoot ?? tmpdir(), `gen-${label}-`));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Environment for a tool run inside `dir`: tools that make scratch files (systemd-analyze, openssl) make them there. */
export function childEnv(options: ToolRunOptions, dir: string): NodeJS.ProcessEnv {
  return { ...envOf(options), TMPDIR: dir, LC_ALL: "C", SYSTEMD_COLORS: "0", SYSTEMD_PAGER: "" };
}

export function report(tool: ToolName, files: string[], problems: string[]): ToolReport {
  return { tool, files, status: problems.length === 0 ? "passed" : "failed", messages: problems };
}

export function notRun(tool: ToolName, files: string[], reason: string): ToolReport {
  return { tool, files, status: "not-run", messages: [reason] };
}

export function missingBinary(tool: ToolName, files: string[], binary: string, debianPackage: string): ToolReport {
  return notRun(tool, files, `${binary} not found on PATH: install the Debian package "${debianPackage}" (apt-get install ${debianPackage})`);
}

/** Output lines with temp paths replaced by what the reader knows (server paths); longest match first. */
export function outputLines(text: string, replacements: Array<[string, string]> = []): string[] {
  const ordered = [...replacements].sort((a, b) => b[0].length - a[0].length);
  return text
    .split("\n")
    .map((line) => ordered.reduce((acc, [from, to]) => acc.split(from).join(to), line.trimEnd()))
    .filter((line) => line.trim() !== "");
}

/** Drops repeated lines, keeping the first (systemd-analyze reports a missing binary once per Exec line). */
export function uniqueLines(lines: string[]): string[] {
  return [...new Set(lines)];
}

/** For a failed command without useful output: say how it ended. */
export function describeExit(binary: string, output: CommandOutput): string {
  if (output.failure !== undefined) return `${binary}: ${output.failure}`;
  return `${binary} exited with status ${output.exitCode}`;
}

/** The last path segment, usable as a file name in a work folder ("file" for "", "." or ".."). */
export function basenameOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name === "" || name === "." || name === ".." ? "file" : name;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
