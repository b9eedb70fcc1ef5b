// Runs one command on an open ssh2 connection (its own channel) and collects output and exit status.

import { constants } from "node:os";
import type { Client, ClientChannel } from "ssh2";
import { GenError } from "../errors.js";
import { requestCounts } from "./exec-count.js";
import type { SessionChannel } from "./remote-session.js";
import type { RunOptions } from "./transport.js";

export interface ExecOutput {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** `where` names the server in messages. Rejects only when the command could not run or lost its connection. */
export function execOnClient(client: Client, command: string, where: string, options: Pick<RunOptions, "stdin" | "onOutput"> = {}): Promise<ExecOutput> {
  requestCounts.execs++;
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) {
        reject(new GenError(`${where}: cannot start a command: ${error.message}`, { cause: error }));
        return;
      }
      collectChannel(channel, command, where, options).then(resolve, reject);
      channel.end(options.stdin ?? "");
    });
  });
}

function collectChannel(channel: ClientChannel, command: string, where: string, options: Pick<RunOptions, "onOutput">): Promise<ExecOutput> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let exitCode: number | undefined;
  channel.on("data", (chunk: Buffer) => {
    stdout.push(chunk);
    options.onOutput?.(chunk.toString("utf8"), "stdout");
  });
  channel.stderr.on("data", (chunk: Buffer) => {
    stderr.push(chunk);
    options.onOutput?.(chunk.toString("utf8"), "stderr");
  });
  channel.on("exit", (code: number | null, signal?: string) => {
    exitCode = code ?? 128 + (constants.signals[signal as NodeJS.Signals] ?? 0);
  });
  return new Promise((resolve, reject) => {
    channel.on("close", () => {
      if (exitCode === undefined) {
        const shown = command.length > 80 ? `${command.slice(0, 77)}...` : command;
        reject(new GenError(`${where}: \`${shown}\` ended without an exit status (connection lost?)`));
        return;
      }
      resolve({ exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) });
    });
  });
}

/** A started command as a SessionChannel: input written as it comes, output handed on as it arrives. */
export function execChannel(client: Client, command: string, where: string): Promise<SessionChannel> {
  requestCounts.execs++;
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(new GenError(`${where}: cannot start the remote session: ${error.message}`, { cause: error }));
      let exitCode: number | undefined;
      // Writing to a channel the server closed is reported on close, not as a crash.
      channel.on("error", () => {});
      channel.on("exit", (code: number | null, signal?: string) => {
        exitCode = code ?? 128 + (constants.signals[signal as NodeJS.Signals] ?? 0);
      });
      resolve({
        write: (data) => void channel.write(data),
        onStdout: (listener) => void channel.on("data", listener),
        onStderr: (listener) => void channel.stderr.on("data", listener),
        onClose: (listener) => void channel.on("close", () => listener(exitCode)),
        end: () => void channel.end(),
      });
    });
  });
}
