// A folder on this machine standing in for a server's `/`: server path /etc/x is `${root}/etc/x`.
// Used by tests and local runs; same contract as the SSH transport, and sudo is not needed (we own the folder).

import type { Stats } from "node:fs";
import { chmod, lstat, readdir, readFile, readlink, rename, stat, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { errorMessage, GenError } from "../errors.js";
import { lazy, nameOf, parseIdTable, type IdNames } from "./id-names.js";
import { localChannel, runLocalProcess } from "./local-run.js";
import { remoteSession, type RemoteSession } from "./remote-session.js";
import { createSandbox } from "./sandbox.js";
import { modeString, parseMode, pathUnderRoot } from "./root-path.js";
import type { CommandResult, ReadResult, RemoteStat, RunOptions, Transport } from "./transport.js";

interface LocalContext {
  root: string;
  describe: string;
  at: (serverPath: string) => string;
  names: () => Promise<IdNames>;
}

export function createLocalTransport(root: string, options: { sandbox?: boolean } = {}): Transport {
  const rootDir = resolve(root);
  const context: LocalContext = {
    root: rootDir,
    describe: `${options.sandbox ? "sandbox" : "local"}:${rootDir}`,
    at: (serverPath) => pathUnderRoot(rootDir, serverPath),
    names: lazy(loadLocalIdNames),
  };
  const { at } = context;
  // `sudo` is ignored here as for run(): one session does for both.
  let session: RemoteSession | undefined;
  const sessionOf = () =>
    (session ??= remoteSession({ where: context.describe, open: (driver) => localChannel("sh", ["-c", driver], { ...process.env, GEN_ROOT: rootDir }) }));
  const attempt = async (action: string, serverPath: string, work: () => Promise<unknown>) => {
    await work().catch((error: unknown) => {
      throw failed(context, action, serverPath, error);
    });
  };
  return {
    describe: context.describe,
    root: rootDir,
    ...(options.sandbox ? { sandbox: createSandbox(rootDir) } : {}),
    readFile: (path) => readLocal(context, path),
    stat: (path) => statLocal(context, path),
    list: (path) => listLocal(context, path),
    writeFile: async (path, content, mode) => {
      const bits = parseMode(mode, path);
      await attempt("write", path, () => writeLocal(at(path), content, bits));
    },
    rename: (from, to) => attempt("rename", `${from} to ${to}`, () => rename(at(from), at(to))),
    run: (argv, options) => runLocal(context, argv, options),
    runScript: (script, options) => runLocal(context, ["sh", "-c", script], options),
    steps: (steps) => sessionOf().runAll(steps),
    async close() {
      await session?.close();
    },
  };
}

async function readLocal(context: LocalContext, serverPath: string): Promise<ReadResult> {
  const full = context.at(serverPath);
  try {
    const stats = await lstat(full);
    const content = stats.isFile() ? await readFile(full) : Buffer.alloc(0);
    return { status: "ok", file: { content, stat: await toRemoteStat(context, full, stats) } };
  } catch (error) {
    if (isMissing(error)) return { status: "missing" };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") return { status: "unreadable", reason: "permission denied" };
    throw failed(context, "read", serverPath, error);
  }
}

async function statLocal(context: LocalContext, serverPath: string): Promise<RemoteStat | undefined> {
  const full = context.at(serverPath);
  try {
    return await toRemoteStat(context, full, await lstat(full));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw failed(context, "stat", serverPath, error);
  }
}

async function listLocal(context: LocalContext, serverPath: string): Promise<string[]> {
  try {
    return (await readdir(context.at(serverPath))).sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw failed(context, "list", serverPath, error);
  }
}

async function writeLocal(full: string, content: Buffer | string, mode: number | undefined): Promise<void> {
  await writeFile(full, content, mode === undefined ? {} : { mode });
  // The create mode is cut by the umask and ignored for an existing file: set it explicitly.
  if (mode !== undefined) await chmod(full, mode);
}

async function runLocal(context: LocalContext, argv: string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new GenError("internal error: empty command line");
  const cwd = options.cwd === undefined ? undefined : context.at(options.cwd);
  if (
    cwd !== undefined &&
    !(await stat(cwd).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    return { exitCode: 2, stdout: "", stderr: `cd: ${options.cwd}: No such directory\n` };
  }
  // `sudo` is ignored: the folder belongs to whoever runs gen.
  return runLocalProcess(file, args, { ...options, cwd, env: { ...process.env, GEN_ROOT: context.root } });
}

async function toRemoteStat(context: LocalContext, full: string, stats: Stats): Promise<RemoteStat> {
  const names = await context.names();
  const result: RemoteStat = {
    type: stats.isFile() ? "file" : stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : "other",
    mode: modeString(stats.mode),
    owner: nameOf(names.users, stats.uid),
    group: nameOf(names.groups, stats.gid),
    size: stats.size,
  };
  if (result.type === "symlink") result.linkTarget = await readlink(full);
  return result;
}

async function loadLocalIdNames(): Promise<IdNames> {
  const [passwd, group] = await Promise.all([readFile("/etc/passwd", "utf8"), readFile("/etc/group", "utf8")]);
  return { users: parseIdTable(passwd), groups: parseIdTable(group) };
}

function failed(context: LocalContext, action: string, serverPath: string, error: unknown): GenError {
  return new GenError(`${context.describe}: cannot ${action} ${serverPath}: ${errorMessage(error)}`, { cause: error });
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
