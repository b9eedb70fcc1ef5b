// Release over every host of an environment (bounded concurrency), each on its own connection as the release
// user; a host that fails is reported in the results, the others carry on.
import { hostname, userInfo } from "node:os";
import { GenError } from "../errors.js";
import { forEachHost, type ConnectOptions } from "../transport/open-transport.js";
import { deployRelease, type DeployInput, type DeployResult, type StepReporter } from "./deploy-release.js";

export type HostDeployResult = DeployResult & { host: string };

export async function deployHosts(
  input: Omit<DeployInput, "roles">,
  options: ConnectOptions,
  concurrency: number,
  report: StepReporter,
): Promise<HostDeployResult[]> {
  const env = input.environment;
  const who = `${userInfo().username}@${hostname()}`;
  const outcomes = await forEachHost(env, { ...options, sshUser: env.release.sshUser ?? env.server.deployUser }, concurrency, (transport, host) =>
    deployRelease({ ...input, roles: host.roles }, { transport, now: () => new Date(), who, pid: process.pid, report }),
  );
  return outcomes.map((o) =>
    o.ok
      ? { ...o.value, host: o.host.name }
      : { host: o.host.name, release: "", outcome: "failed", removedReleases: [], checks: [], steps: [], error: new GenError(o.error) },
  );
}
