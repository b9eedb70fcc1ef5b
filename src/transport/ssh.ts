// connectSsh: one SSH connection to one host, as a Transport. Host keys are checked against known_hosts
// (or a pinned fingerprint); keys come from ssh-agent, then identity files. Throws GenError on failure.

import { homedir } from "node:os";
import { join } from "node:path";
import { GenError } from "../errors.js";
import { defaultIdentityFileNames, existingDefaultIdentityFiles, type PassphrasePrompt } from "./ssh-auth.js";
import { openSftpUploader } from "./sftp-upload.js";
import { openSshConnection, type ClientStart, type ConnectPlan, type SshConnection } from "./ssh-connect.js";
import type { StartedTcp } from "./tcp.js";
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
  /** The SSH user's password for sudo: the root session then runs through `sudo -S`, fed it on standard input. */
  sudoPassword?: string;
  /** A folder standing in for the server's `/` (tests); default "/". */
  root?: string;
  /** Where ~ is; default the current user's home. */
  homeDir?: string;
  /** Reach this host through another one (ProxyJump): its own options, host key checked like any other. */
  jump?: SshOptions;
  /** The TCP connection to host:port, already started (startTcp); closed here if the connection fails. */
  tcp?: StartedTcp;
  /** Open the upload connection (openUploader's) now, beside this one: the caller will upload. */
  uploadsEarly?: boolean;
}

export async function connectSsh(options: SshOptions): Promise<Transport> {
  let lost: Error | undefined;
  const root = options.root ?? "/";
  // The upload connection is a new one, made the same way: its own TCP connection (not the one started early).
  const { tcp: _early, uploadsEarly: _uploads, ...again } = options;
  const openUploads = (describe: string) => openSftpUploader((use) => openThroughJumps(again, () => {}, use), { describe, root });
  // Side by side with this one when asked, unless a new host key may be recorded: both would record it.
  let early = options.uploadsEarly && !options.acceptNewHostKey ? openUploads(describeTarget(options, root)) : undefined;
  early?.catch(() => {});
  const { connection, plan, hops } = await openThroughJumps(options, (error) => (lost ??= error)).catch((error: unknown) => {
    options.tcp?.socket.destroy();
    void early?.then((uploader) => uploader.close()).catch(() => {});
    throw error;
  });
  const { username, host, port } = plan.target;
  const describe = `${username}@${host}:${port}${hops.length ? ` via ${hops.map((h) => h.name).join(", ")}` : ""}${root === "/" ? "" : ` (root ${root})`}`;
  const openUploader = () => {
    const opened = early ?? openUploads(describe);
    early = undefined;
    return opened;
  };
  const transport = createSshTransport(connection, openUploader, {
    describe,
    username,
    root,
    sudo: options.sudo ?? false,
    ...(options.sudoPassword === undefined ? {} : { sudoPassword: options.sudoPassword }),
    lostReason: () => lost,
  });
  const close = async () => {
    // Opened early and never asked for: closed with the connection.
    const unused = early;
    early = undefined;
    await Promise.all([transport.close(), unused?.then((uploader) => uploader.close()).catch(() => {})]);
    for (const hop of hops.reverse()) hop.connection.client.end();
  };
  return { ...transport, close };
}

/** How connectSsh names the host before it connected: user@host:port, via its jump hosts, and its root if not "/". */
function describeTarget(options: SshOptions, root: string): string {
  const name = (o: SshOptions) => `${o.username}@${o.host}:${o.port ?? 22}`;
  const hops: string[] = [];
  for (let jump = options.jump; jump; jump = jump.jump) hops.unshift(name(jump));
  return `${name(options)}${hops.length ? ` via ${hops.join(", ")}` : ""}${root === "/" ? "" : ` (root ${root})`}`;
}

interface Hop {
  name: string;
  connection: SshConnection;
}

/**
 * Opens the jump hosts first (each checked and authenticated like any host), then the host through them; with `use`,
 * the host's connection is made on that client (the upload's SFTP library's).
 */
async function openThroughJumps(
  options: SshOptions,
  onLost: (error: Error) => void,
  use?: ClientStart,
): Promise<{ connection: SshConnection; plan: ConnectPlan; hops: Hop[] }> {
  const plan = await connectPlan(options, onLost);
  if (!options.jump) return { connection: await openSshConnection(plan, use), plan, hops: [] };
  const jump = await openThroughJumps(options.jump, () => {});
  const hops = [...jump.hops, { name: `${jump.plan.target.username}@${jump.plan.target.host}:${jump.plan.target.port}`, connection: jump.connection }];
  try {
    plan.sock = await forward(jump.connection, jump.plan, plan.target);
    return { connection: await openSshConnection(plan, use), plan, hops };
  } catch (error) {
    for (const hop of hops.reverse()) hop.connection.client.end();
    throw error;
  }
}

function forward(through: SshConnection, via: ConnectPlan, to: ConnectPlan["target"]): Promise<NonNullable<ConnectPlan["sock"]>> {
  return new Promise((resolve, reject) => {
    through.client.forwardOut("127.0.0.1", 0, to.host, to.port, (error, channel) => {
      if (error) {
        reject(
          new GenError(
            `jump host ${via.target.username}@${via.target.host}:${via.target.port} (ProxyJump) did not open a channel to ${to.host}:${to.port}: ${error.message}`,
            {
              details: ["The jump host's sshd must allow TCP forwarding (AllowTcpForwarding) for this user."],
            },
          ),
        );
      } else resolve(channel);
    });
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
    throw new GenError(
      `pinned host key fingerprint must look like SHA256:<43 base64 characters> (as \`ssh-keygen -lf\` prints it), got ${JSON.stringify(pinned)}`,
    );
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
    ...(options.tcp ? { tcp: options.tcp } : {}),
  };
}
