// The TCP side of an SSH connection, apart from ssh2: a command that will connect starts its sockets before the SSH
// code is loaded (early-start.ts), so that the server accepts and prepares while gen loads and renders.
import { connect as tcpConnect, type Socket } from "node:net";

/** A TCP connection under way, and the error that ended it if it failed before ssh2 listened to it. */
export interface StartedTcp {
  socket: Socket;
  failure: () => Error | undefined;
}

/**
 * The TCP socket of an SSH connection, with Nagle's algorithm off: every request/answer exchange would otherwise
 * wait for the peer's delayed acknowledgement (about 40 ms). OpenSSH sets TCP_NODELAY for the same reason.
 * Every connection gen opens (jump hosts included) takes its socket from here. It may be started before ssh2 takes
 * it over (the server then prepares its side while gen renders): its error is kept until then.
 */
export function startTcp(host: string, port: number): StartedTcp {
  const socket = tcpConnect({ host, port });
  socket.setNoDelay(true);
  let failure: Error | undefined;
  socket.on("error", (error) => (failure ??= error));
  return { socket, failure: () => failure };
}
