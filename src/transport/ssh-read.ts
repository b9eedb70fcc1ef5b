// Reading over SFTP, falling back to `sudo -n` where the SSH user is denied and sudo is enabled.
// A permission problem is never reported as "missing".

import type { Stats } from "ssh2";
import { GenError } from "../errors.js";
import { hasCode, operationFailed, remoteStatOf, sftpCall, SFTP_NO_SUCH_FILE, SFTP_PERMISSION_DENIED, type SshSession } from "./ssh-session.js";
import { sudoCat, sudoList, sudoReadFile, sudoStat } from "./sudo-read.js";
import type { ReadResult, RemoteStat } from "./transport.js";

export async function readRemoteFile(session: SshSession, serverPath: string): Promise<ReadResult> {
  const full = session.at(serverPath);
  const sftp = await session.sftp();
  let attrs: Stats;
  try {
    attrs = await sftpCall<Stats>((cb) => sftp.lstat(full, cb));
  } catch (error) {
    if (hasCode(error, SFTP_NO_SUCH_FILE)) return { status: "missing" };
    if (!hasCode(error, SFTP_PERMISSION_DENIED)) throw operationFailed(session, "read", serverPath, error);
    return session.sudo ? sudoReadFile(session.runCommand, full) : denied(session);
  }
  const stat = await remoteStatOf(session, full, attrs);
  if (stat.type !== "file") return { status: "ok", file: { content: Buffer.alloc(0), stat } };
  try {
    return { status: "ok", file: { content: await sftpCall<Buffer>((cb) => sftp.readFile(full, cb)), stat } };
  } catch (error) {
    if (hasCode(error, SFTP_NO_SUCH_FILE)) return { status: "missing" };
    if (!hasCode(error, SFTP_PERMISSION_DENIED)) throw operationFailed(session, "read", serverPath, error);
    return session.sudo ? sudoCat(session.runCommand, full, stat) : denied(session);
  }
}

function denied(session: SshSession): ReadResult {
  return {
    status: "unreadable",
    reason: `permission denied for ${session.username} (with sudo enabled it is read through \`sudo -n cat\`)`,
  };
}

export async function statRemote(session: SshSession, serverPath: string): Promise<RemoteStat | undefined> {
  const full = session.at(serverPath);
  const sftp = await session.sftp();
  try {
    return await remoteStatOf(session, full, await sftpCall<Stats>((cb) => sftp.lstat(full, cb)));
  } catch (error) {
    if (hasCode(error, SFTP_NO_SUCH_FILE)) return undefined;
    if (!hasCode(error, SFTP_PERMISSION_DENIED) || !session.sudo) throw operationFailed(session, "stat", serverPath, error);
    const result = await sudoStat(session.runCommand, full);
    if (result.status === "unreadable") throw new GenError(`${session.describe}: cannot stat ${serverPath}: ${result.reason}`);
    return result.status === "ok" ? result.stat : undefined;
  }
}

export async function listRemote(session: SshSession, serverPath: string): Promise<string[]> {
  const full = session.at(serverPath);
  const sftp = await session.sftp();
  try {
    const entries = await sftpCall<Array<{ filename: string }>>((cb) => sftp.readdir(full, cb));
    return entries
      .map((e) => e.filename)
      .filter((n) => n !== "." && n !== "..")
      .sort();
  } catch (error) {
    if (hasCode(error, SFTP_NO_SUCH_FILE)) return [];
    if (!hasCode(error, SFTP_PERMISSION_DENIED) || !session.sudo) throw operationFailed(session, "list", serverPath, error);
    const result = await sudoList(session.runCommand, full);
    if (result.status === "unreadable") throw new GenError(`${session.describe}: cannot list ${serverPath}: ${result.reason}`);
    return result.status === "ok" ? result.names : [];
  }
}
