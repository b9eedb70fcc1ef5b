// Apply over every host of an environment: the reviewed plan of each host, on the connections the command keeps
// open (bounded concurrency); a host that fails is reported in the results, the others carry on.
import { hostname, userInfo } from "node:os";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { NO_INTERRUPTS, type Interrupts } from "../interrupt.js";
import { unreadableEntries } from "../plan/plan-changes.js";
import type { Plan } from "../plan/plan-types.js";
import { forEachHost, type ConnectOptions, type HostConnections } from "../transport/open-transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { applyPlan, type HostApplyResult, type ReviewedRead } from "./apply-plan.js";
import type { HeldLock } from "./locked-read.js";
import { holderOf, type LockHolder } from "../server/lock-holder.js";

export interface HostsInput {
  envName: string;
  environment: Environment;
  plan: Plan;
  rendered: RenderedFile[];
  folders: FolderSpec[];
  forceUnlock: boolean;
  concurrency: number;
  /** Locks taken with the first read (locked-read.ts): each host's apply takes its own over, from this map. */
  held?: Map<string, HeldLock>;
  /** The reads the plans were made from: each host's apply checks its own on the server, under the lock. */
  reads?: Map<string, ReviewedRead>;
  interrupts?: Interrupts;
}

/** Who holds the lock of an apply run from here now. */
export function lockHolder(now: Date): LockHolder {
  return holderOf("apply", { who: `${userInfo().username}@${hostname()}`, now: () => now, pid: process.pid });
}

export async function applyHosts(
  input: HostsInput,
  options: ConnectOptions,
  connections: HostConnections,
  progress: (line: string) => void,
): Promise<HostApplyResult[]> {
  const { environment: env, plan } = input;
  const interrupts = input.interrupts ?? NO_INTERRUPTS;
  const who = lockHolder(new Date()).who;
  const outcomes = await forEachHost(
    env,
    options,
    input.concurrency,
    (transport, host) => {
      const held = input.held?.get(host.name);
      input.held?.delete(host.name);
      const read = input.reads?.get(host.name);
      return applyPlan(
        {
          envName: input.envName,
          environment: env,
          reviewed: plan.hosts.find((h) => h.host === host.name)!,
          rendered: input.rendered,
          folders: input.folders,
          forceUnlock: input.forceUnlock,
          ...(held ? { held } : {}),
          ...(read ? { read } : {}),
        },
        { transport, now: () => new Date(), who, pid: process.pid, progress, interrupt: interrupts.forHost(host.name) },
      );
    },
    connections,
    interrupts,
  );
  return outcomes.map((o) => {
    if (o.ok) return o.value;
    const failed = { host: o.host.name, changed: [], handlers: [], restored: [], recovered: [], error: new GenError(o.error) };
    return o.interrupted ? { ...failed, outcome: "interrupted", interrupted: o.interrupted } : { ...failed, outcome: "failed" };
  });
}

/** A file gen could not read may differ: stop, and name the account that can read it. */
export function refuseUnreadable(plan: Plan, env: Environment, envName: string): void {
  const unreadable = unreadableEntries(plan);
  if (unreadable.length === 0) return;
  const user = env.server.sshUser;
  const how = env.server.useSudo
    ? `apply logs in as ${user} (server.sshUser) and reads root-only files through sudo -n: ${user} needs passwordless sudo (an administrator account)`
    : `server.useSudo is false, so apply reads as ${user} alone: set server.useSudo: true and server.sshUser to an administrator account with passwordless sudo`;
  throw new GenError(
    `${unreadable.length} file${unreadable.length === 1 ? "" : "s"} of ${envName} could not be read, so gen cannot compare ${unreadable.length === 1 ? "it" : "them"} with the environment; nothing was changed`,
    {
      details: [...unreadable, how],
    },
  );
}
