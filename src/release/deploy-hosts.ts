// Release over every host of an environment (bounded concurrency), each on a connection as the release user (its
// own, or `early`'s: opened, and the upload connection started, while the configuration step ran); a host that fails
// is reported in the results, the others carry on.
import { hostname, userInfo } from "node:os";
import { GenError } from "../errors.js";
import { NO_INTERRUPTS, type Interrupts } from "../interrupt.js";
import { forEachHost, type ConnectOptions, type HostConnections, type HostEntry } from "../transport/open-transport.js";
import type { Uploads } from "./build-release.js";
import { deployRelease, type DeployInput, type DeployResult, type StepReporter } from "./deploy-release.js";

/** Connections opened before the release (the caller closes them), and each host's upload connection if it started one. */
export interface EarlyConnections {
  connections: HostConnections;
  uploads: (host: HostEntry) => Uploads | undefined;
}

export type HostDeployResult = DeployResult & { host: string };

export async function deployHosts(
  input: Omit<DeployInput, "roles">,
  options: ConnectOptions,
  concurrency: number,
  report: StepReporter,
  interrupts: Interrupts = NO_INTERRUPTS,
  early?: EarlyConnections,
): Promise<HostDeployResult[]> {
  const env = input.environment;
  const who = `${userInfo().username}@${hostname()}`;
  const outcomes = await forEachHost(
    env,
    { ...options, sshUser: env.release.sshUser ?? env.server.deployUser },
    concurrency,
    (transport, host) => {
      const uploads = early?.uploads(host);
      return deployRelease(
        { ...input, roles: host.roles },
        { transport, now: () => new Date(), who, pid: process.pid, report, interrupt: interrupts.forHost(host.name), ...(uploads ? { uploads } : {}) },
      );
    },
    early?.connections,
    interrupts,
  );
  return outcomes.map((o) => {
    if (o.ok) return { ...o.value, host: o.host.name };
    const failed = { host: o.host.name, release: "", removedReleases: [], checks: [], steps: [], error: new GenError(o.error) };
    return o.interrupted ? { ...failed, outcome: "interrupted", interrupted: o.interrupted } : { ...failed, outcome: "failed" };
  });
}
