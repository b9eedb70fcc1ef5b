// What the SSH file operations share: the open connection, path mapping, bounded exec, owner names.

import type { Stats } from "ssh2";
import { GenError } from "../errors.js";
import { lazy, nameOf, parseIdTable, type IdNames } from "./id-names.js";
import { modeString, pathUnderRoot } from "./root-path.js";
import type { SshConnection } from "./ssh-connect.js";
import type { RunCommand } from "./sudo-read.js";
import type { RemoteStat } from "./transport.js";

export interface SshTransportContext {
  describe: string;
  username: string;
  /** "/" on a real server; a folder standing in for it in tests. */
  root: string;
  sudo: boolean;
  /** Why the connection dropped, if it did. */
  lostReason: () => Error | undefined;
}

export interface SshSession extends SshTransportContext, SshConnection {
  at: (serverPath: string) => string;
  /** Runs a command line in the host's unprivileged session. */
  runCommand: RunCommand;
  names: () => Promise<IdNames>;
}

export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_PERMISSION_DENIED = 3;

/** `namesCommand`: where the user and group tables are read (the session already open, sudo or not). */
export function createSession(
  connection: SshConnection,
  context: SshTransportContext,
  runCommand: RunCommand,
  namesCommand: RunCommand = runCommand,
): SshSession {
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
    runCommand,
    names: lazy(() => loadRemoteIdNames(namesCommand)),
  };
}

async function loadRemoteIdNames(run: RunCommand): Promise<IdNames> {
  // getent also sees LDAP/sssd users; plain files are the fallback on systems without it. Two steps of the same
  // session, sent together: one round trip, each table its own answer.
  const [passwd, group] = await Promise.all([run("getent passwd || cat /etc/passwd"), run("getent group || cat /etc/group")]);
  return { users: parseIdTable(passwd.stdout.toString("utf8")), groups: parseIdTable(group.stdout.toString("utf8")) };
}

export async function remoteStatOf(session: SshSession, full: string, attrs: Stats): Promise<RemoteStat> {
  const ids = await session.names();
  const stat: RemoteStat = {
    type: fileType(attrs.mode),
    mode: modeString(attrs.mode),
    owner: nameOf(ids.users, attrs.uid),
    group: nameOf(ids.groups, attrs.gid),
    size: attrs.size,
  };
  if (stat.type === "symlink") {
    const sftp = await session.sftp();
    stat.linkTarget = await sftpCall<string>((cb) => sftp.readlink(full, cb));
  }
  return stat;
}

function fileType(mode: number): RemoteStat["type"] {
  const format = mode & 0o170000;
  if (format === 0o100000) return "file";
  if (format === 0o040000) return "directory";
  if (format === 0o120000) return "symlink";
  return "other";
}

/** Promise form of an ssh2 SFTP callback call. */
export function sftpCall<T>(start: (callback: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
}

export function hasCode(error: unknown, code: number): boolean {
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
