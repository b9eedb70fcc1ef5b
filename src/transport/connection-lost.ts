// Every operation of an SSH transport settles once the connection is gone. ssh2 queues an SFTP request made after
// its channel closed and never answers it, and a promise nobody settles ends node with exit 13 and no message:
// so each operation races the connection's close, and one started after it fails at once.

import type { Client } from "ssh2";
import { ConnectionLostError } from "../errors.js";

export interface ConnectionGuard {
  /** Runs `work`, failing with a ConnectionLostError naming `what` if the connection is or gets lost. */
  <T>(what: string, work: () => Promise<T>): Promise<T>;
  /** True once the connection closed. */
  lost: () => boolean;
}

export function guardConnection(client: Client, describe: string, lostReason: () => Error | undefined): ConnectionGuard {
  let closed = false;
  let onClose: () => void = () => {};
  const closing = new Promise<never>((_, reject) => {
    onClose = () => reject(new Error("closed"));
  });
  closing.catch(() => {});
  // A socket error or "end" can come before "close": each means the connection is gone.
  client.once("end", () => (closed = true));
  client.on("error", (error: Error & { level?: string }) => {
    if (error.level === "client-socket" || error.level === "protocol") closed = true;
  });
  client.once("close", () => {
    closed = true;
    onClose();
  });
  const lostError = (what: string, cause?: unknown) => {
    const reason = lostReason()?.message ?? "the connection ended";
    return new ConnectionLostError(`${describe}: connection lost while ${what}: ${reason}`, cause);
  };
  const guard = (async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    if (closed) throw lostError(what);
    try {
      return await Promise.race([work(), closing]);
    } catch (error) {
      if (closed || socketGone(client) || lostReason() !== undefined) throw error instanceof ConnectionLostError ? error : lostError(what, error);
      throw error;
    }
  }) as ConnectionGuard;
  guard.lost = () => closed;
  return guard;
}

/**
 * A failed write (EPIPE) can fail an SFTP call before ssh2 reports anything, but node has destroyed the socket by
 * then. ssh2 keeps the socket as `_sock`, which its typings do not declare.
 */
function socketGone(client: Client): boolean {
  return (client as unknown as { _sock?: { destroyed?: boolean } })._sock?.destroyed === true;
}
