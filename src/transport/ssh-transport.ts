// The Transport over one open SSH connection: files over SFTP (at most 16 requests in flight),
// commands on exec channels of the same connection (at most 8 at once).

import pLimit from "p-limit";
import { guardConnection } from "./connection-lost.js";
import { remoteCommand, remoteScript } from "./remote-command.js";
import { parseMode } from "./root-path.js";
import type { SshConnection } from "./ssh-connect.js";
import { execOnClient, type ExecOutput } from "./ssh-exec.js";
import { listRemote, readRemoteFile, statRemote } from "./ssh-read.js";
import {
  createSession,
  operationFailed,
  sftpCall,
  type SshSession,
  type SshTransportContext,
} from "./ssh-session.js";
import type { CommandResult, RunOptions, Transport } from "./transport.js";

export type { SshTransportContext } from "./ssh-session.js";

// OpenSSH allows 10 channels per connection (MaxSessions); SFTP holds one.
const EXEC_CHANNELS = 8;
const SFTP_REQUESTS = 16;

export function createSshTransport(connection: SshConnection, context: SshTransportContext): Transport {
  const guard = guardConnection(connection.client, context.describe, context.lostReason);
  const sftpLimit = pLimit(SFTP_REQUESTS);
  const execLimit = pLimit(EXEC_CHANNELS);
  const sftpOp = <T>(what: string, work: () => Promise<T>) => sftpLimit(() => guard(what, work));
  const exec = (command: string, options: RunOptions = {}) =>
    execLimit(() => guard(`running ${shortCommand(command)}`, () => execOnClient(connection.client, command, context.describe, options)));
  const session = createSession(connection, context, (command) => exec(command));
  const { at, root } = session;
  return {
    describe: context.describe,
    root,
    readFile: (path) => sftpOp(`reading ${path}`, () => readRemoteFile(session, path)),
    stat: (path) => sftpOp(`reading ${path}`, () => statRemote(session, path)),
    list: (path) => sftpOp(`listing ${path}`, () => listRemote(session, path)),
    writeFile: (path, content, mode) => sftpOp(`writing ${path}`, () => writeRemoteFile(session, path, content, mode)),
    rename: (from, to) =>
      sftpOp(`renaming ${from}`, async () => {
        // posix-rename@openssh.com replaces an existing target atomically; plain SFTP rename refuses to.
        await session.sftpClient.posixRename(at(from), at(to)).catch((error: unknown) => {
          throw operationFailed(session, "rename", `${from} to ${to}`, error);
        });
      }),
    run: async (argv, options = {}) => text(await exec(remoteCommand(argv, options, root), options)),
    // A script goes on the channel's stdin (sh -s): on the command line a long one passes OpenSSH's packet
    // limit ("Bad packet length") and the kernel's 128 KiB limit for one argument.
    runScript: async (script, options = {}) =>
      text(options.stdin === undefined ? await exec(remoteCommand(["sh", "-s"], options, root), { ...options, stdin: script }) : await exec(remoteScript(script, options, root), options)),
    async close() {
      // ssh2-sftp-client waits for a close event that a connection already gone never sends again.
      if (!guard.lost()) await guard("closing the connection", () => session.sftpClient.end()).catch(() => connection.client.destroy());
    },
  };
}

async function writeRemoteFile(session: SshSession, serverPath: string, content: Buffer | string, mode?: string) {
  const full = session.at(serverPath);
  const bits = parseMode(mode, serverPath);
  try {
    await session.sftpClient.put(Buffer.from(content), full, bits === undefined ? {} : { writeStreamOptions: { mode: bits } });
    // The create mode is cut by the server's umask and ignored for an existing file: set it explicitly.
    if (bits !== undefined) await sftpCall<void>((cb) => session.sftp.chmod(full, bits, cb));
  } catch (error) {
    throw operationFailed(session, "write", serverPath, error);
  }
}

function shortCommand(command: string): string {
  return `\`${command.length > 60 ? `${command.slice(0, 57)}...` : command}\``;
}

function text(output: ExecOutput): CommandResult {
  return { exitCode: output.exitCode, stdout: output.stdout.toString("utf8"), stderr: output.stderr.toString("utf8") };
}
