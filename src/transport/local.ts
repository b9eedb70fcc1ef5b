// A folder on this machine standing in for a server's `/`: server path /etc/x is `${root}/etc/x`.
// Used by tests and local runs; same contract as the SSH transport, and sudo is not needed (we own the folder).

import { chmod, copyFile, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { errorMessage, GenError } from "../errors.js";
import { localChannel, runLocalProcess } from "./local-run.js";
import { remoteSession, type RemoteSession } from "./remote-session.js";
import { parseMode, pathUnderRoot } from "./root-path.js";
import type { CommandResult, RunOptions, Transport } from "./transport.js";

interface LocalContext {
  root: string;
  describe: string;
  at: (serverPath: string) => string;
}

/**
 * `label` names the host in messages, before the folder: "local", or "sandbox" (sandbox-transport.ts); `env`: more
 * environment for the session's steps.
 */
export function createLocalTransport(root: string, options: { label?: string; env?: Record<string, string> } = {}): Transport {
  const rootDir = resolve(root);
  const context: LocalContext = {
    root: rootDir,
    describe: `${options.label ?? "local"}:${rootDir}`,
    at: (serverPath) => pathUnderRoot(rootDir, serverPath),
  };
  const { at } = context;
  // `sudo` is ignored here as for run(): one session does for both.
  let session: RemoteSession | undefined;
  const sessionOf = () =>
    (session ??= remoteSession({
      where: context.describe,
      open: (driver) => localChannel("sh", ["-c", driver], { ...process.env, ...options.env, GEN_ROOT: rootDir }),
    }));
  const attempt = async (action: string, serverPath: string, work: () => Promise<unknown>) => {
    await work().catch((error: unknown) => {
      throw failed(context, action, serverPath, error);
    });
  };
  return {
    describe: context.describe,
    root: rootDir,
    openUploader: async () => ({
      putFile: async (path, content, mode) => {
        const bits = parseMode(mode, path);
        await attempt("write", path, () => writeLocal(at(path), content, bits));
      },
      putFolder: async (localDir, remoteDir, onFile) => {
        let stopped: { error: unknown } | undefined;
        const sent = () => {
          try {
            onFile();
          } catch (error) {
            stopped = { error };
            throw error;
          }
        };
        await copyFolder(localDir, at(remoteDir), sent).catch((error: unknown) => {
          throw stopped ? stopped.error : failed(context, "upload into", remoteDir, error);
        });
      },
      close: async () => {},
    }),
    run: (argv, options) => runLocal(context, argv, options),
    runScript: (script, options) => runLocal(context, ["sh", "-c", script], options),
    steps: (steps) => sessionOf().runAll(steps),
    async close() {
      await session?.close();
    },
  };
}

/** The regular files and folders under `from`, copied one file at a time (links and other kinds left out). */
async function copyFolder(from: string, to: string, onFile: () => void): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isDirectory()) await copyFolder(join(from, entry.name), join(to, entry.name), onFile);
    else if (entry.isFile()) {
      onFile();
      await copyFile(join(from, entry.name), join(to, entry.name));
    }
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
  return runLocalProcess(file, args, { ...options, cwd, env: { ...process.env, GEN_ROOT: context.root }, detached: true });
}

function failed(context: LocalContext, action: string, serverPath: string, error: unknown): GenError {
  return new GenError(`${context.describe}: cannot ${action} ${serverPath}: ${errorMessage(error)}`, { cause: error });
}
