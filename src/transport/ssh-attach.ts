// A command on a channel of its own whose input and output stay attached to gen while it runs (gen logs -f, gen run),
// on a pseudo-terminal when asked. Stopping it sends TERM to its process group (sshd's "signal" request, OpenSSH 7.9
// and newer: sshd started the command in a session of its own) and closes the channel, so nothing of it is left
// running on the server (a closed channel alone ends only what notices it: journalctl -f does, a management command
// would run on until it next wrote).
import { constants } from "node:os";
import type { Client, ClientChannel } from "ssh2";
import { GenError } from "../errors.js";
import { requestCounts } from "./exec-count.js";
import type { AttachOptions, Attached } from "./transport.js";

export function attachOnClient(client: Client, command: string, where: string, options: AttachOptions): Promise<Attached> {
  requestCounts.execs++;
  const pty = options.tty ? { pty: { rows: options.tty.rows, cols: options.tty.cols, height: 0, width: 0, term: options.tty.term } } : {};
  return new Promise((resolve, reject) => {
    client.exec(command, pty, (error, channel) => {
      if (error) return reject(new GenError(`${where}: cannot start a command: ${error.message}`, { cause: error }));
      resolve(attached(channel, where, options));
    });
  });
}

function attached(channel: ClientChannel, where: string, options: AttachOptions): Attached {
  let exitCode: number | undefined;
  let stopped = false;
  // Writing to a channel the server closed is reported on close, not as a crash.
  channel.on("error", () => {});
  channel.on("data", options.onStdout);
  channel.stderr.on("data", options.onStderr);
  channel.on("exit", (code: number | null, signal?: string) => {
    exitCode = code ?? 128 + (constants.signals[`SIG${signal}` as NodeJS.Signals] ?? constants.signals[signal as NodeJS.Signals] ?? 0);
  });
  const exited = new Promise<number>((resolve, reject) => {
    channel.on("close", () => {
      // Stopped: whatever it answered to TERM (journalctl -f exits 1), it ended because gen ended it.
      if (stopped) resolve(128 + constants.signals.SIGTERM);
      else if (exitCode !== undefined) resolve(exitCode);
      else reject(new GenError(`${where}: the command ended without an exit status (connection lost?)`));
    });
  });
  return {
    write: (data) => void channel.write(data),
    end: () => void channel.end(),
    resize: ({ rows, cols }) => void channel.setWindow(rows, cols, 0, 0),
    signal: (name) => sendSignal(channel, name),
    stop: () => {
      if (stopped) return;
      stopped = true;
      sendSignal(channel, "TERM");
      channel.close();
    },
    exited,
  };
}

interface ChannelInternals {
  outgoing: { id: number; state: string };
  _client: { _protocol: { signal: (channel: number, name: string) => void } };
}

/**
 * ssh2's channel.signal() sends nothing once the command's input was ended (it checks that the channel is still
 * writable), yet a command whose input ended (gen run with no input) must still get Ctrl-C: the request goes through
 * ssh2's protocol object while the channel is open, as channel.signal() itself sends it. sshd honours it for a login
 * other than root only (a root login keeps no privilege separation after authentication: "session signalling requires
 * privilege separation"); for root, closing the channel is what ends the command.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internals = channel as unknown as ChannelInternals;
  const { state, id } = internals.outgoing;
  // "eof": gen ended the command's input; the channel is open until "closing".
  if (state === "open" || state === "eof") internals._client._protocol.signal(id, name);
}
