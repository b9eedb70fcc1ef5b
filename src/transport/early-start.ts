// Where a host's SSH connection goes (the user's ssh config applied) and its TCP connection, started without the SSH
// code: a command that will connect calls this as soon as the environment is loaded, then loads ssh2 and renders
// while the server accepts the connection and prepares its side (connect-early.ts).
import type { Environment } from "../../schema/index.js";
import type { HostEntry } from "./hosts.js";
import { resolveSshHost, type ResolvedSshHost } from "./ssh-config.js";
import { startTcp, type StartedTcp } from "./tcp.js";

export interface HostStart {
  resolved: ResolvedSshHost;
  /** Where the ssh config is read from (jump hosts are resolved through it too). */
  source: { configPath?: string };
  /** None through a jump host: the connection then runs in a channel of the jump's. */
  tcp?: StartedTcp;
}

export interface StartOptions {
  sshUser?: string;
  identityFile?: string;
  sshConfigPath?: string;
}

/** The host resolved and its TCP connection started; throws what the ssh config's reading throws. */
export function startHost(env: Environment, host: HostEntry, options: StartOptions): HostStart {
  const source = options.sshConfigPath ? { configPath: options.sshConfigPath } : {};
  const resolved = resolveSshHost(
    host.host,
    { port: host.port, user: options.sshUser ?? env.server.sshUser, ...(options.identityFile ? { identityFiles: [options.identityFile] } : {}) },
    source,
  );
  return { resolved, source, ...(resolved.jumps ? {} : { tcp: startTcp(resolved.host, resolved.port) }) };
}

/** The hosts a command connects to first, at `count` at once: none over the local transport. */
export function firstHosts(env: Environment, count: number): HostEntry[] {
  return env.server.transport === "local" ? [] : env.server.hosts.slice(0, Math.max(1, count));
}

/**
 * The first `count` hosts started (firstHosts), by name. A host whose start failed is left
 * out: connecting to it later starts it again and reports the failure there, as for any host.
 */
export function startHosts(env: Environment, count: number, options: StartOptions): Map<string, HostStart> {
  const started = new Map<string, HostStart>();
  for (const host of firstHosts(env, count)) {
    try {
      started.set(host.name, startHost(env, host, options));
    } catch {
      // reported when the host is connected to
    }
  }
  return started;
}

/** Closes the sockets started early that no connection took (the command ended or failed before using them). */
export function closeStarted(started: Map<string, HostStart>): void {
  for (const { tcp } of started.values()) tcp?.socket.destroy();
  started.clear();
}
