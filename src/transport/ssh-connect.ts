// Opens the one SSH connection per host: TCP, host key check, key authentication, SFTP subsystem.
// The connect timeout covers all of it except the time spent waiting for a passphrase.

import SftpClient from "ssh2-sftp-client";
import type { Client, SFTPWrapper } from "ssh2";
import { GenError } from "../errors.js";
import { hostKeyAlgorithms, loadKnownHosts, verifyHostKey, type HostKeyPolicy } from "./host-key.js";
import type { KnownHostEntry } from "./known-hosts.js";
import { createAuthHandler, type AuthLog, type AuthSources } from "./ssh-auth.js";
import { connectFailure, timeoutFailure, type SshTarget } from "./ssh-errors.js";

export interface SshConnection {
  sftpClient: SftpClient;
  /** The raw SFTP channel (ssh2), used for the many small parallel reads. */
  sftp: SFTPWrapper;
  /** The SSH connection itself, for exec channels. */
  client: Client;
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
}

export async function openSshConnection(plan: ConnectPlan): Promise<SshConnection> {
  const entries = await loadKnownHosts(plan.hostKey.pinnedFingerprint ? [] : plan.hostKey.knownHostsPaths);
  const sftpClient = new SftpClient("gen", {
    error: (error) => plan.onLost(error as Error),
    end: () => plan.onLost(new Error("the server ended the connection")),
    close: () => plan.onLost(new Error("the connection closed")),
  });
  // ssh2-sftp-client keeps the ssh2 Client as `.client`; its typings do not declare it.
  const client = (sftpClient as unknown as { client: Client }).client;
  // Each sftp-client call adds three temporary listeners; the transport keeps at most 16 calls in flight.
  client.setMaxListeners(100);
  const failure: { refusal?: GenError; raw?: Error & { level?: string } } = {};
  const log: AuthLog = { offered: [], notes: [] };
  client.on("error", (error: Error & { level?: string }) => {
    if (error.level === "agent") log.notes.push(`ssh-agent: ${error.message}`);
    else failure.raw ??= error;
  });

  const clock = startClock(plan.timeoutMs);
  const connecting = sftpClient.connect({
    host: plan.target.host,
    port: plan.target.port,
    username: plan.target.username,
    readyTimeout: 0,
    ...(plan.sock ? { sock: plan.sock as never } : {}),
    keepaliveInterval: 15_000,
    algorithms: { serverHostKey: hostKeyAlgorithms(entries, plan.hostKey) as never },
    hostVerifier: hostVerifier(plan.hostKey, entries, failure),
    authHandler: createAuthHandler(plan.auth, log, clock.pausedDuring),
  });
  connecting.catch(() => {});
  try {
    const sftp = await Promise.race([connecting, clock.expired]);
    return { sftpClient, sftp, client };
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
    if (trusted) return verify(trusted.equals(key));
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
