// Runs a process on this machine and collects its output as a CommandResult (the local transport's `run`).

import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { SessionChannel } from "./remote-session.js";
import type { CommandResult, RunOptions } from "./transport.js";

export interface LocalProcessOptions extends Pick<RunOptions, "stdin" | "onOutput"> {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /**
   * In a session of its own (the sandbox's commands, which stand for a server's): the terminal's Ctrl-C and hang-up
   * reach gen alone, which decides what to stop (src/cli/interrupts.ts), as they never reach a server's commands.
   */
  detached?: boolean;
}

/** Never rejects for a failing command: a missing program is exit 127, as a shell reports it. */
export function runLocalProcess(file: string, args: string[], options: LocalProcessOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: "pipe", detached: options.detached ?? false });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    collect(child.stdout, stdout, "stdout", options.onOutput);
    collect(child.stderr, stderr, "stderr", options.onOutput);
    child.on("error", (error: NodeJS.ErrnoException) => {
      const reason = error.code === "ENOENT" ? "command not found" : error.message;
      resolve({ exitCode: 127, stdout: "", stderr: `${file}: ${reason}\n` });
    });
    child.on("close", (code, signal) => {
      const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
      resolve({ exitCode, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
    // A command that exits without reading its input closes the pipe: that is not our failure.
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin ?? "");
  });
}

function collect(stream: NodeJS.ReadableStream, chunks: Buffer[], name: "stdout" | "stderr", onOutput: RunOptions["onOutput"]): void {
  stream.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    onOutput?.(chunk.toString("utf8"), name);
  });
}

/** A local process as a remote session's channel (the local transport, and the session's own tests). */
export function localChannel(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<SessionChannel & { kill: () => void }> {
  // Its own process group, so that kill() takes the running step with it, as a lost connection would; its own session,
  // so that the terminal's Ctrl-C and hang-up reach gen alone, as they never reach a server's session.
  const child = spawn(file, args, { env, stdio: "pipe", detached: true });
  child.stdin.on("error", () => {});
  let exitCode: number | undefined;
  const closed = new Promise<void>((resolve) => {
    child.on("error", () => resolve());
    child.on("close", (code, signal) => {
      exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
      resolve();
    });
  });
  return Promise.resolve({
    write: (data) => void child.stdin.write(data),
    onStdout: (listener) => void child.stdout.on("data", listener),
    onStderr: (listener) => void child.stderr.on("data", listener),
    onClose: (listener) => void closed.then(() => listener(exitCode)),
    end: () => void child.stdin.end(),
    kill: () => void (child.pid !== undefined && process.kill(-child.pid, "SIGKILL")),
  });
}
