// Opens the transport for one host of an environment: a local folder, or SSH with the user's ssh config,
// known_hosts and keys. The environment's host, port and user are defaults that ~/.ssh/config overrides.
import { resolve } from "node:path";
import pLimit from "p-limit";
import type { Environment } from "../../schema/index.js";
import { errorMessage, GenError } from "../errors.js";
import { InterruptedError } from "../interrupt.js";
import { createSandboxTransport } from "./sandbox-transport.js";
import { closeStarted, firstHosts, startHost, type HostStart } from "./early-start.js";
import { connectSsh, type SshOptions } from "./ssh.js";
import type { PassphrasePrompt } from "./ssh-auth.js";
import { resolveSshHost, type JumpSpec, type ResolvedSshHost } from "./ssh-config.js";
import type { Transport } from "./transport.js";
import { environmentHosts, type HostEntry } from "./hosts.js";

export { environmentHosts, type HostEntry } from "./hosts.js";

export interface ConnectOptions {
  projectDir: string;
  envName: string;
  acceptNewHostKey?: boolean;
  knownHostsPath?: string;
  identityFile?: string;
  sshConfigPath?: string;
  passphrase?: PassphrasePrompt;
  /** Log in as this user instead of server.sshUser (the release step logs in as the deploy user). */
  sshUser?: string;
  /** server.sshUser's password for sudo (--sudo-password), for the root session of every host. */
  sudoPassword?: string;
  /** The caller will upload (a deploy): each host's upload connection opens beside its connection. */
  uploadsEarly?: boolean;
}

export async function openTransport(env: Environment, host: HostEntry, options: ConnectOptions, started?: HostStart): Promise<Transport> {
  if (env.server.transport === "local") {
    const root = resolve(options.projectDir, env.server.localRoot ?? `.gen-local/${options.envName}`);
    return createSandboxTransport(root);
  }
  // Started before this function first waits, when not earlier (startHosts): the server accepts the connection and
  // prepares its side while gen loads and renders.
  const { resolved, source, tcp } = started ?? startHost(env, host, options);
  return connectSsh({
    ...(tcp ? { tcp } : {}),
    ...sshOptions(resolved, options, env),
    ...(options.identityFile ? { identityFiles: [options.identityFile] } : resolved.identityFiles ? { identityFiles: resolved.identityFiles } : {}),
    ...(host.hostKey ? { hostKeyFingerprint: host.hostKey } : {}),
    ...(resolved.jumps ? { jump: await jumpOptions(resolved.jumps, options, env, source, [host.host]) } : {}),
    sudo: env.server.useSudo,
    ...(options.uploadsEarly ? { uploadsEarly: true } : {}),
    // The password is the SSH user's: not for the deploy user a release logs in as.
    ...(options.sudoPassword !== undefined && options.sshUser === undefined ? { sudoPassword: options.sudoPassword } : {}),
    root: host.root,
  });
}

function sshOptions(resolved: ResolvedSshHost, options: ConnectOptions, env: Environment): SshOptions {
  return {
    host: resolved.host,
    port: resolved.port,
    username: resolved.user,
    ...(options.knownHostsPath ? { knownHostsPaths: [options.knownHostsPath] } : resolved.knownHostsPaths ? { knownHostsPaths: resolved.knownHostsPaths } : {}),
    ...(options.passphrase ? { passphrase: options.passphrase } : {}),
    acceptNewHostKey: (options.acceptNewHostKey ?? false) || (resolved.acceptNewHostKey ?? false),
    connectTimeoutMs: (resolved.connectTimeoutSeconds ?? env.server.connectTimeoutSeconds) * 1000,
  };
}

/**
 * ProxyJump a,b: b is reached through a, the host through b. Each hop is resolved through the ssh config like
 * any host (its own User, Port, IdentityFile, ProxyJump), with the values written in ProxyJump taking precedence;
 * its host key is checked against the same known_hosts. --identity is for the target only, as with ssh -J.
 */
async function jumpOptions(hops: JumpSpec[], options: ConnectOptions, env: Environment, source: { configPath?: string }, seen: string[]): Promise<SshOptions> {
  let previous: SshOptions | undefined;
  for (const hop of hops) {
    if (seen.includes(hop.host) || seen.length > 8) throw new GenError(`ProxyJump loops: ${[...seen, hop.host].join(" -> ")}`);
    const resolved = resolveSshHost(hop.host, {}, source);
    const ownJump = previous ?? (resolved.jumps ? await jumpOptions(resolved.jumps, options, env, source, [...seen, hop.host]) : undefined);
    previous = {
      ...sshOptions({ ...resolved, ...(hop.user ? { user: hop.user } : {}), ...(hop.port ? { port: hop.port } : {}) }, options, env),
      ...(resolved.identityFiles ? { identityFiles: resolved.identityFiles } : {}),
      ...(ownJump ? { jump: ownJump } : {}),
    };
  }
  return previous!;
}

/** Connections kept open across steps (apply reads, asks, then writes over the same connection). */
export interface HostConnections {
  open(host: HostEntry): Promise<Transport>;
  /**
   * Starts connecting to the first `count` hosts, and their session, now: the SSH handshake, sudo and the login
   * shell's start-up then run on the server while gen renders. A failure is reported where the host is first used.
   */
  warm(count: number, session: { sudo: boolean }): void;
  close(): Promise<void>;
}

/** `started`: hosts whose connection was started before the SSH code was loaded (startHosts); each is used once. */
export function hostConnections(env: Environment, options: ConnectOptions, started = new Map<string, HostStart>()): HostConnections {
  const open = new Map<string, Promise<Transport>>();
  const connect = (host: HostEntry) => {
    let transport = open.get(host.name);
    if (!transport) {
      const early = started.get(host.name);
      started.delete(host.name);
      open.set(host.name, (transport = openTransport(env, host, options, early)));
    }
    return transport;
  };
  return {
    open: connect,
    warm(count, session) {
      for (const host of firstHosts(env, count)) {
        connect(host).then(
          (transport) => transport.startSession?.(session),
          () => {},
        );
      }
    },
    async close() {
      closeStarted(started);
      await Promise.all([...open.values()].map((t) => t.then((transport) => transport.close()).catch(() => {})));
      open.clear();
    },
  };
}

export type HostOutcome<T> =
  | { host: HostEntry; ok: true; value: T }
  /** `interrupted`: the signal that stopped this host before it changed anything (or before it started). */
  | { host: HostEntry; ok: false; error: string; transport: string; interrupted?: string };

/**
 * Runs `work` on every host, at most `concurrency` at once; one host failing does not hide the others.
 * Without `connections`, each host's connection is opened for this call and closed after it. Once `interrupts` has a
 * signal, the hosts not started yet are not started (or connected to).
 */
export async function forEachHost<T>(
  env: Environment,
  options: ConnectOptions,
  concurrency: number,
  work: (transport: Transport, host: HostEntry) => Promise<T>,
  connections?: HostConnections,
  interrupts?: { readonly signal: string | undefined },
): Promise<HostOutcome<T>[]> {
  const limit = pLimit(Math.max(1, concurrency));
  return Promise.all(
    environmentHosts(env, options.envName).map((host) =>
      limit(async (): Promise<HostOutcome<T>> => {
        let transport: Transport | undefined;
        try {
          if (interrupts?.signal) throw new InterruptedError(interrupts.signal, `not started: interrupted (${interrupts.signal}); nothing was changed on it`);
          transport = connections ? await connections.open(host) : await openTransport(env, host, options);
          return { host, ok: true, value: await work(transport, host) };
        } catch (error) {
          const details = error instanceof GenError && error.details.length ? `\n  ${error.details.join("\n  ")}` : "";
          return {
            host,
            ok: false,
            error: `${errorMessage(error)}${details}`,
            transport: transport?.describe ?? `${options.sshUser ?? env.server.sshUser}@${host.host}:${host.port}`,
            ...(error instanceof InterruptedError ? { interrupted: error.signal } : {}),
          };
        } finally {
          if (!connections) await transport?.close().catch(() => {});
        }
      }),
    ),
  );
}
