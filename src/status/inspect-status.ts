// gen status: per host of an environment, the live release, gen's lock and its holder, and whether the managed files
// drifted from the environment, by the plan gen diff makes. In: the loaded and rendered environment; out: plain data.
// Effects: reads through one connection per host (the connections given are the caller's to close): the probe of the
// managed files, the lock and the live release in one round trip of one session, then the content of what differs.
import type { LoadedEnvironment } from "../load/load-environment.js";
import { filesForRoles, hostDiffers, planChanges } from "../plan/plan-changes.js";
import type { HostPlan, Plan } from "../plan/plan-types.js";
import { readServerStateWith } from "../plan/server-state.js";
import { liveReleaseSteps, type LiveRelease } from "../release/live-release.js";
import { forEachHost, type ConnectOptions, type HostConnections } from "../transport/open-transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";

export interface HostStatus {
  host: string;
  /** The host's plan, as gen diff computes it: its `lock` and `error` included. */
  plan: HostPlan;
  /** Absent when the host could not be inspected (plan.error says why). */
  release?: LiveRelease;
  /** A file or folder differs from the environment, or could not be read. */
  drifted: boolean;
}

export interface EnvironmentStatus {
  plan: Plan;
  hosts: HostStatus[];
}

export async function inspectStatus(
  loaded: LoadedEnvironment,
  files: RenderedFile[],
  folders: FolderSpec[],
  options: ConnectOptions,
  concurrency: number,
  connections: HostConnections,
): Promise<EnvironmentStatus> {
  const env = loaded.environment;
  const outcomes = await forEachHost(
    env,
    options,
    concurrency,
    async (transport, host) => {
      const read = await readServerStateWith(
        transport,
        filesForRoles(files, host.roles),
        filesForRoles(folders, host.roles),
        env.server.stateDir,
        { sudo: env.server.useSudo },
        liveReleaseSteps(transport.root, env, transport.describe),
      );
      return { state: read.state, release: read.alongside };
    },
    connections,
  );
  const plan = planChanges(
    loaded.name,
    files,
    folders,
    outcomes.map((o) => ({ host: o.host.name, roles: o.host.roles, state: o.ok ? o.value.state : { error: o.error, transport: o.transport } })),
  );
  const hosts = plan.hosts.map((hostPlan, i): HostStatus => {
    const outcome = outcomes[i]!;
    return {
      host: hostPlan.host,
      plan: hostPlan,
      ...(outcome.ok ? { release: outcome.value.release } : {}),
      drifted: hostPlan.error === undefined && hostDiffers(hostPlan),
    };
  });
  return { plan, hosts };
}
