// What the SSH file operations (a deploy's uploads) share: the open connection, path mapping, SFTP errors.

import { GenError } from "../errors.js";
import { pathUnderRoot } from "./root-path.js";
import type { SshConnection } from "./ssh-connect.js";

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

export interface SshSession extends SshTransportContext, SshConnection {
  at: (serverPath: string) => string;
}

const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

export function createSession(connection: SshConnection, context: SshTransportContext): SshSession {
  return {
    ...context,
    ...connection,
    at: (serverPath) => pathUnderRoot(context.root, serverPath),
    sftp: () =>
      connection.sftp().catch((error: unknown) => {
        const lost = context.lostReason();
        throw new GenError(
          `${context.describe}: cannot open the SFTP subsystem: ${(error as Error).message}${lost ? ` (connection lost: ${lost.message})` : ""}`,
          { cause: error },
        );
      }),
  };
}

/** Promise form of an ssh2 SFTP callback call. */
export function sftpCall<T>(start: (callback: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
}

function hasCode(error: unknown, code: number): boolean {
  return (error as { code?: unknown }).code === code;
}

/** `user@host:port: cannot <action> <path>: <reason>`. */
export function operationFailed(session: SshSession, action: string, serverPath: string, error: unknown): GenError {
  return new GenError(`${session.describe}: cannot ${action} ${serverPath}: ${sftpReason(session, error)}`, { cause: error });
}

function sftpReason(session: SshSession, error: unknown): string {
  if (hasCode(error, SFTP_PERMISSION_DENIED)) return `permission denied for ${session.username}`;
  if (hasCode(error, SFTP_NO_SUCH_FILE)) return "no such file or folder";
  const lost = session.lostReason();
  const message = (error as Error).message ?? String(error);
  return lost ? `${message} (connection lost: ${lost.message})` : message;
}
