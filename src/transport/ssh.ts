// connectSsh: one SSH connection to one host, as a Transport. Host keys are checked against known_hosts
// (or a pinned fingerprint); keys come from ssh-agent, then identity files. Throws GenError on failure.

import { homedir } from "node:os";
import { join } from "node:path";
import { GenError } from "../errors.js";
import { defaultIdentityFileNames, existingDefaultIdentityFiles, type PassphrasePrompt } from "./ssh-auth.js";
import { openSshConnection, type ConnectPlan } from "./ssh-connect.js";
import { createSshTransport } from "./ssh-transport.js";
import type { Transport } from "./transport.js";

export interface SshOptions {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  /** Private key files; default: those of ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist. */
  identityFiles?: string[];
  /** ssh-agent socket; default $SSH_AUTH_SOCK; false to not use an agent. */
  agent?: string | false;
  /** Asked for the passphrase of an encrypted key file (the CLI prompts on the TTY). */
  passphrase?: PassphrasePrompt;
  /** Default ~/.ssh/known_hosts. A newly accepted key is written to the first. */
  knownHostsPaths?: string[];
  /** "SHA256:..." as `ssh-keygen -lf` prints it; when given, it alone decides (known_hosts is ignored). */
  hostKeyFingerprint?: string;
  /** Trust and record a host key seen for the first time. A changed key is refused regardless. */
  acceptNewHostKey?: boolean;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** Read files the user cannot through `sudo -n`; run(..., {sudo}) works either way. */
  sudo?: boolean;
  /** A folder standing in for the server's `/` (tests); default "/". */
  root?: string;
  /** Where ~ is; default the current user's home. */
  homeDir?: string;
}

export async function connectSsh(options: SshOptions): Promise<Transport> {
  let lost: Error | undefined;
  const plan = await connectPlan(options, (error) => (lost ??= error));
  const connection = await openSshConnection(plan);
  const root = options.root ?? "/";
  const { username, host, port } = plan.target;
  return createSshTransport(connection, {
    describe: `${username}@${host}:${port}${root === "/" ? "" : ` (root ${root})`}`,
    username,
    root,
    sudo: options.sudo ?? false,
    lostReason: () => lost,
  });
}

async function connectPlan(options: SshOptions, onLost: (error: Error) => void): Promise<ConnectPlan> {
  const home = options.homeDir ?? homedir();
  const target = { username: options.username, host: options.host, port: options.port ?? 22 };
  const agent = options.agent === false ? undefined : options.agent || process.env.SSH_AUTH_SOCK || undefined;
  const identityFiles = options.identityFiles ?? (await existingDefaultIdentityFiles(home));
  if (!agent && identityFiles.length === 0) {
    const files = options.identityFiles ? "no identity file is configured" : `none of ${defaultIdentityFileNames(home).join(", ")} exists`;
    throw new GenError(`no SSH key to offer to ${target.username}@${target.host}:${target.port}: SSH_AUTH_SOCK is not set and ${files}`, {
      details: ["Start ssh-agent and `ssh-add` your key, or name the key file in ~/.ssh/config (IdentityFile)."],
    });
  }
  const pinned = options.hostKeyFingerprint;
  if (pinned !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(pinned)) {
    throw new GenError(`pinned host key fingerprint must look like SHA256:<43 base64 characters> (as \`ssh-keygen -lf\` prints it), got ${JSON.stringify(pinned)}`);
  }
  return {
    target,
    timeoutMs: options.connectTimeoutMs ?? 10_000,
    hostKey: {
      host: target.host,
      port: target.port,
      knownHostsPaths: options.knownHostsPaths ?? [join(home, ".ssh", "known_hosts")],
      ...(pinned !== undefined ? { pinnedFingerprint: pinned } : {}),
      acceptNew: options.acceptNewHostKey ?? false,
    },
    auth: {
      username: target.username,
      ...(agent ? { agent } : {}),
      identityFiles,
      ...(options.passphrase ? { passphrase: options.passphrase } : {}),
    },
    onLost,
  };
}
