// The root session of an SSH user whose sudo asks for a password (--sudo-password): the password travels on the
// session's standard input to `sudo -S`, never on a command line (every local user can read argv) and never in a
// file. It is checked first with `sudo -S true`, fed the password once and then nothing, so a wrong one fails
// there (sudo reads its second try from the end of the input) before anything runs as root.
import type { Client } from "ssh2";
import { GenError } from "../errors.js";
import { remoteCommand } from "./remote-command.js";
import type { SessionChannel } from "./remote-session.js";
import { execChannel, execOnClient } from "./ssh-exec.js";

/** After the password, the line the root shell reads up to before its driver starts. */
const PASSWORD_END = "gen-sudo-password-end";

/**
 * Consumes the input up to PASSWORD_END: the password when sudo did not read it (a NOPASSWD rule), so it is never
 * taken for the driver's first line, and PASSWORD_END itself. `read` takes a pipe byte by byte: nothing more.
 */
const SKIP_PASSWORD = `while IFS= read -r gen_line && [ "$gen_line" != ${PASSWORD_END} ]; do :; done; unset gen_line\n`;

export interface SudoPasswordSession {
  client: Client;
  describe: string;
  username: string;
  root: string;
  password: string;
}

/** Opens the session's driver as root through `sudo -S`, once sudo accepted the password. */
export async function openWithSudoPassword(session: SudoPasswordSession, driver: string): Promise<SessionChannel> {
  await checkSudoPassword(session);
  const command = remoteCommand(["sh", "-c", `${SKIP_PASSWORD}${driver}`], { sudo: true, sudoPassword: true }, session.root);
  const channel = await execChannel(session.client, command, session.describe);
  channel.write(Buffer.from(`${session.password}\n${PASSWORD_END}\n`));
  return channel;
}

async function checkSudoPassword(session: SudoPasswordSession): Promise<void> {
  const check = await execOnClient(session.client, remoteCommand(["true"], { sudo: true, sudoPassword: true }, "/"), session.describe, {
    stdin: `${session.password}\n`,
  });
  if (check.exitCode === 0) return;
  const said = check.stderr
    .toString("utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  throw new GenError(`${session.describe}: sudo refused the password for ${session.username}: nothing was run as root`, {
    details: [...said, "Type the password of the SSH user (server.sshUser) for its sudo, or drop --sudo-password if sudo needs none."],
  });
}
