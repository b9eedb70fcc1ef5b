// Turns ssh2's connection failures into messages a user can act on, naming user, host and port.

import { GenError } from "../errors.js";
import type { AuthLog } from "./ssh-auth.js";

export interface SshTarget {
  username: string;
  host: string;
  port: number;
}

type Ssh2Error = Error & { code?: string | number; level?: string };

export function connectFailure(error: Ssh2Error, target: SshTarget, log: AuthLog, timeoutMs: number): GenError {
  const { username, host, port } = target;
  const prefix = `cannot connect to ${username}@${host}:${port}`;
  switch (error.code) {
    case "ECONNREFUSED":
      return new GenError(`${prefix}: connection refused (is sshd running and listening on port ${port}?)`, { cause: error });
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new GenError(`${prefix}: host name ${host} not found (check HostName in ~/.ssh/config or the environment)`, { cause: error });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new GenError(`${prefix}: no route to host`, { cause: error });
    case "ECONNRESET":
      return new GenError(`${prefix}: the server closed the connection during the handshake`, { cause: error });
  }
  if (error.level === "client-timeout") return timeoutFailure(target, timeoutMs);
  if (error.level === "client-authentication" || /authentication methods failed/.test(error.message)) {
    return authFailure(target, log);
  }
  return new GenError(`${prefix}: ${error.message}`, { cause: error });
}

export function timeoutFailure(target: SshTarget, timeoutMs: number): GenError {
  const seconds = Number((timeoutMs / 1000).toFixed(1));
  return new GenError(`no answer from ${target.host}:${target.port} within ${seconds} s (is the host up, the port right, and no firewall dropping it?)`);
}

export function authFailure(target: SshTarget, log: AuthLog): GenError {
  const { username, host, port } = target;
  const details = [...log.notes, `The public key must be in ~${username}/.ssh/authorized_keys on ${host}.`];
  if (log.offered.length === 0) {
    return new GenError(`no usable SSH key for ${username}@${host}:${port}: nothing was offered`, { details });
  }
  return new GenError(`${username}@${host}:${port} rejected the key: offered ${log.offered.join(", ")}`, { details });
}
