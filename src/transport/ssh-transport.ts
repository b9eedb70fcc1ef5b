// The Transport over one open SSH connection: commands in one remote session per privilege (one exec channel each,
// for the whole command); only streamed output (the release's build) takes an exec channel of its own. Uploads go
// over a connection of their own (sftp-upload.ts), opened by openUploader.

import pLimit from "p-limit";
import { ConnectionLostError } from "../errors.js";
import { guardConnection } from "./connection-lost.js";
import { remoteCommand } from "./remote-command.js";
import { remoteSession, type RemoteSession } from "./remote-session.js";
import { quoteArg } from "./shell-quote.js";
import { openWithSudoPassword } from "./sudo-password.js";
import type { SshConnection } from "./ssh-connect.js";
import { attachOnClient } from "./ssh-attach.js";
import { execChannel, execOnClient, type ExecOutput } from "./ssh-exec.js";
import { pathUnderRoot } from "./root-path.js";
import type { CommandResult, RunOptions, Transport, Uploader } from "./transport.js";

export interface SshTransportContext {
  describe: string;
  username: string;
  /** "/" on a real server; a folder standing in for it in tests. */
  root: string;
  sudo: boolean;
  /** The SSH user's password for sudo (--sudo-password): the root session gets it on its input, through `sudo -S`. */
  sudoPassword?: string;
  /** Why the connection dropped, if it did. */
  lostReason: () => Error | undefined;
}

// OpenSSH allows 10 channels per connection (MaxSessions).
const EXEC_CHANNELS = 8;

export function createSshTransport(connection: SshConnection, openUploader: () => Promise<Uploader>, context: SshTransportContext): Transport {
  const guard = guardConnection(connection.client, context.describe, context.lostReason);
  const execLimit = pLimit(EXEC_CHANNELS);
  const exec = (command: string, options: RunOptions = {}) =>
    execLimit(() => guard(`running ${shortened(command)}`, () => execOnClient(connection.client, command, context.describe, options)));
  const sessions = new Map<boolean, RemoteSession>();
  const sessionFor = (sudo: boolean): RemoteSession => {
    let found = sessions.get(sudo);
    if (!found) {
      const password = sudo ? context.sudoPassword : undefined;
      const open = (driver: string) =>
        password === undefined
          ? execChannel(connection.client, remoteCommand(["sh", "-c", driver], { sudo }, context.root), context.describe)
          : openWithSudoPassword({ client: connection.client, describe: context.describe, username: context.username, root: context.root, password }, driver);
      found = remoteSession({ where: context.describe, open, lostReason: context.lostReason, endsConnectionAfter: true });
      sessions.set(sudo, found);
    }
    return found;
  };
  // A session rejects its steps by itself when its channel goes (naming the step): its words win over the guard's.
  const guarded = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    if (guard.lost()) return guard(what, work);
    const running = work();
    try {
      return await guard(what, () => running);
    } catch (error) {
      const own = await Promise.race([
        running.then(
          () => undefined,
          (e: unknown) => e,
        ),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      throw own instanceof ConnectionLostError ? own : error;
    }
  };
  const inSession = async (script: string, options: RunOptions): Promise<CommandResult> => {
    const name = options.step ?? `running ${shortened(script)}`;
    const step = { name, script, ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) };
    return text(await guarded(name, () => sessionFor(options.sudo ?? false).run(step)));
  };
  const { root } = context;
  const at = (serverPath: string) => pathUnderRoot(root, serverPath);
  return {
    describe: context.describe,
    root,
    openUploader,
    // The exact command line of a one-off exec, in the unprivileged session: `sudo -n -- argv` stays one command,
    // as a sudoers rule that allows only that command (the deploy user's restarts) expects.
    run: async (argv, options = {}) =>
      options.onOutput
        ? text(await exec(remoteCommand(argv, options, root), options))
        : inSession(remoteCommand(argv, options, root), { ...options, sudo: false }),
    // Scripts travel on the session's input: on a command line a long one would pass OpenSSH's packet limit.
    runScript: async (script, options = {}) => {
      if (!options.onOutput) return inSession(options.cwd === undefined ? script : `cd -- ${quoteArg(at(options.cwd))} || exit 2\n${script}`, options);
      return text(await exec(remoteCommand(["sh", "-c", script], options, root), options));
    },
    attach: (argv, options) =>
      guard(`starting ${shortened(argv.join(" "))}`, () =>
        attachOnClient(connection.client, attachCommand(argv, options.cwd, root), context.describe, options),
      ),
    steps: (steps, options = {}) => guarded(stepsUnderWay(steps), () => sessionFor(options.sudo ?? false).runAll(steps)),
    startSession: (options) => {
      if (!guard.lost()) sessionFor(options.sudo ?? false).start();
    },
    async close() {
      if (guard.lost()) return;
      await guard("closing the connection", async () => {
        await Promise.all([...sessions.values()].map((s) => s.close().catch(() => {})));
        await endConnection(connection);
      }).catch(() => connection.client.destroy());
    },
  };
}

/**
 * Ends the connection. Over a TCP socket of gen's own, the socket goes as soon as gen's last bytes have left:
 * the server's side of the goodbye (channels closing, its own end) would only be waited for.
 */
function endConnection({ client, socket }: SshConnection): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    client.once("close", () => (clearTimeout(timer), resolve()));
    socket?.once("finish", () => socket.destroy());
    client.end();
  });
}

/** `exec` keeps the command the session's process (the one sshd's signal reaches first), in its folder when given. */
function attachCommand(argv: string[], cwd: string | undefined, root: string): string {
  const command = `exec ${remoteCommand(argv, {}, root)}`;
  return cwd === undefined ? command : `cd -- ${quoteArg(pathUnderRoot(root, cwd))} && ${command}`;
}

function stepsUnderWay(steps: { name: string }[]): string {
  const first = steps[0]?.name ?? "nothing";
  return steps.length > 1 ? `${first} (and ${steps.length - 1} more step${steps.length > 2 ? "s" : ""})` : first;
}

function shortened(command: string): string {
  const line = command.replace(/\s+/g, " ").trim();
  return `\`${line.length > 80 ? `${line.slice(0, 77)}...` : line}\``;
}

function text(output: ExecOutput): CommandResult {
  return { exitCode: output.exitCode, stdout: output.stdout.toString("utf8"), stderr: output.stderr.toString("utf8") };
}
