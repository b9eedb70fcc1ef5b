// Opens an SSH connection: TCP (no Nagle), host key check, key authentication. The one connection per host for
// commands, and a deploy's upload connection (sftp-upload.ts), are both made here.
// The connect timeout covers all of it except the time spent waiting for a passphrase.

import type { Socket } from "node:net";
import ssh2, { type Client as SshClient, type ConnectConfig } from "ssh2";
import { GenError } from "../errors.js";
import { hostKeyAlgorithms, loadKnownHosts, verifyHostKey, type HostKeyPolicy } from "./host-key.js";
import type { KnownHostEntry } from "./known-hosts.js";
import { createAuthHandler, type AuthLog, type AuthSources } from "./ssh-auth.js";
import { connectFailure, timeoutFailure, type SshTarget } from "./ssh-errors.js";
import { startTcp, type StartedTcp } from "./tcp.js";

export interface SshConnection {
  /** The SSH connection itself, for exec channels. */
  client: SshClient;
  /** gen's own TCP socket under it; none through a jump host (the connection then runs in a channel). */
  socket?: Socket;
}

export interface ConnectPlan {
  target: SshTarget;
  timeoutMs: number;
  hostKey: HostKeyPolicy;
  auth: AuthSources;
  /** Called if the connection drops later. */
  onLost: (error: Error) => void;
  /** A channel through a jump host (ProxyJump) to use instead of a TCP connection of our own. */
  sock?: NodeJS.ReadableStream & NodeJS.WritableStream;
  /** The TCP connection to the target, when it was started earlier (startTcp); else it is started here. */
  tcp?: StartedTcp;
}

/**
 * The ssh2 client a connection is made with, and how it is started with the options built here: a new client
 * started directly by default; a library that drives its own client (ssh2-sftp-client) starts it itself.
 */
export interface ClientStart {
  client: SshClient;
  start: (config: ConnectConfig) => void;
}

export async function openSshConnection(plan: ConnectPlan, use?: ClientStart): Promise<SshConnection> {
  // Through a jump host, the forwarded channel; else a TCP socket of our own, Nagle off.
  const tcp = plan.sock ? undefined : (plan.tcp ?? startTcp(plan.target.host, plan.target.port));
  try {
    return await overConnection(plan, tcp, use);
  } catch (error) {
    tcp?.socket.destroy();
    throw error;
  }
}

async function overConnection(plan: ConnectPlan, tcp: StartedTcp | undefined, use: ClientStart | undefined): Promise<SshConnection> {
  const entries = await loadKnownHosts(plan.hostKey.pinnedFingerprint ? [] : plan.hostKey.knownHostsPaths);
  // A socket started early may have failed before anything listened to it (connection refused).
  if (tcp?.socket.destroyed) throw connectFailure(tcp.failure() ?? new Error("the connection closed"), plan.target, { offered: [], notes: [] }, plan.timeoutMs);
  const client = use?.client ?? new ssh2.Client();
  const failure: { refusal?: GenError; raw?: Error & { level?: string } } = {};
  const log: AuthLog = { offered: [], notes: [] };
  let ready = false;
  const connecting = new Promise<void>((resolve, reject) => {
    client.once("ready", () => ((ready = true), resolve()));
    client.on("error", (error: Error & { level?: string }) => {
      if (error.level === "agent") return void log.notes.push(`ssh-agent: ${error.message}`);
      if (ready) return plan.onLost(error);
      failure.raw ??= error;
      reject(error);
    });
    client.on("end", () => (ready ? plan.onLost(new Error("the server ended the connection")) : reject(new Error("the server ended the connection"))));
    client.on("close", () => (ready ? plan.onLost(new Error("the connection closed")) : reject(new Error("the connection closed"))));
  });
  connecting.catch(() => {});

  const clock = startClock(plan.timeoutMs);
  const start = use?.start ?? ((config: ConnectConfig) => client.connect(config));
  start({
    sock: (plan.sock as never) ?? tcp?.socket,
    host: plan.target.host,
    port: plan.target.port,
    username: plan.target.username,
    readyTimeout: 0,
    keepaliveInterval: 15_000,
    algorithms: { serverHostKey: hostKeyAlgorithms(entries, plan.hostKey) as never },
    hostVerifier: hostVerifier(plan.hostKey, entries, failure),
    authHandler: createAuthHandler(plan.auth, log, clock.pausedDuring),
  });
  try {
    await Promise.race([connecting, clock.expired]);
    return { client, ...(tcp ? { socket: tcp.socket } : {}) };
  } catch (error) {
    client.destroy();
    if (failure.refusal) throw failure.refusal;
    if (clock.hasExpired()) throw timeoutFailure(plan.target, plan.timeoutMs);
    throw connectFailure(failure.raw ?? (error as Error), plan.target, log, plan.timeoutMs);
  } finally {
    clock.stop();
  }
}

type VerifyCallback = (valid: boolean) => void;

function hostVerifier(policy: HostKeyPolicy, entries: KnownHostEntry[], failure: { refusal?: GenError }) {
  let trusted: Buffer | undefined;
  return (key: Buffer, verify: VerifyCallback): void => {
    // A re-key shows the key again: the one already trusted passes without being recorded twice.
    if (trusted) {
      verify(trusted.equals(key));
      return;
    }
    verifyHostKey(policy, entries, key).then(
      (refusal) => {
        failure.refusal = refusal;
        if (refusal === undefined) trusted = key;
        verify(refusal === undefined);
      },
      (error: unknown) => {
        failure.refusal = asGenError(error);
        verify(false);
      },
    );
  };
}

function asGenError(error: unknown): GenError {
  return error instanceof GenError ? error : new GenError(String((error as Error)?.message ?? error), { cause: error });
}

/** What the connect clock needs of time; tests pass a fake one to check the clock without waiting on it. */
export interface Timers {
  now: () => number;
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A timeout that can be paused (while a human types a passphrase). */
export function startClock(ms: number, timers: Timers = realTimers) {
  let remaining = ms;
  let startedAt = timers.now();
  let timer: unknown;
  let expiredFlag = false;
  let stopped = false;
  let expire: (error: Error) => void = () => {};
  const expired = new Promise<never>((_, reject) => (expire = reject));
  expired.catch(() => {});
  const arm = () => {
    startedAt = timers.now();
    timer = timers.setTimeout(() => ((expiredFlag = true), expire(new Error("timeout"))), remaining);
  };
  const pause = () => {
    timers.clearTimeout(timer);
    remaining -= timers.now() - startedAt;
  };
  arm();
  return {
    expired,
    hasExpired: () => expiredFlag,
    stop: () => ((stopped = true), timers.clearTimeout(timer)),
    pausedDuring: async <T>(work: () => Promise<T>): Promise<T> => {
      pause();
      try {
        return await work();
      } finally {
        if (!expiredFlag && !stopped) arm();
      }
    },
  };
}
