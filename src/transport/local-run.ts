// Runs a process on this machine and collects its output as a CommandResult (the local transport's `run`).

import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { CommandResult, RunOptions } from "./transport.js";

export interface LocalProcessOptions extends Pick<RunOptions, "stdin" | "onOutput"> {
  cwd?: string;
  env: NodeJS.ProcessEnv;
}

/** Never rejects for a failing command: a missing program is exit 127, as a shell reports it. */
export function runLocalProcess(file: string, args: string[], options: LocalProcessOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: "pipe" });
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

function collect(
  stream: NodeJS.ReadableStream,
  chunks: Buffer[],
  name: "stdout" | "stderr",
  onOutput: RunOptions["onOutput"],
): void {
  stream.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    onOutput?.(chunk.toString("utf8"), name);
  });
}
