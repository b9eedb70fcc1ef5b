// Whether the release user may connect to the Gunicorn socket: every deploy's Gunicorn smoke check connects to it
// as that user, and systemd makes it `gunicorn.socketUser:gunicorn.socketGroup` with `gunicorn.socketMode`.
// socketAccessSpec is pure: it says what the server program must look at (the user's groups are the server's), or
// null when there is nothing to check (no web role, or a mode that lets anyone connect).
import type { Environment } from "../../schema/index.js";

export interface SocketAccess {
  /** The release user, who runs the smoke checks. */
  user: string;
  socket: string;
  owner: string;
  group: string;
  /** socketMode as a number (0o660). */
  mode: number;
  /** Shown in messages: "0660". */
  shownMode: string;
  fix: string;
  modeFix: string;
}

export function socketAccessSpec(env: Environment, roles: string[]): SocketAccess | null {
  const { socketPath, socketUser, socketGroup, socketMode } = env.gunicorn;
  const mode = Number.parseInt(socketMode, 8);
  // Connecting to a Unix socket takes write permission on it: with o+w anyone may.
  if (!roles.includes("web") || (mode & 0o002) !== 0) return null;
  const user = env.release.sshUser ?? env.server.deployUser;
  const modeFix = `set gunicorn.socketMode so that the socket's ${user === socketUser ? "owner" : "group"} may write to it (the default is "0660")`;
  const join = `sudo usermod -aG ${socketGroup} ${user} (it takes effect at ${user}'s next login: an SSH session already open keeps its groups)`;
  return {
    user,
    socket: socketPath,
    owner: socketUser,
    group: socketGroup,
    mode,
    shownMode: socketMode,
    // A member of the group is no better off when the group may not write either.
    fix: (mode & 0o020) !== 0 ? join : `${join}, and ${modeFix}`,
    modeFix,
  };
}
