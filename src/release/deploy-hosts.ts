// Release over every host of an environment (bounded concurrency), each on its own connection as the release
// user; a host that fails is reported in the results, the others carry on.
import { hostname, userInfo } from "node:os";
import { GenError } from "../errors.js";
import { NO_INTERRUPTS, type Interrupts } from "../interrupt.js";
import { forEachHost, type ConnectOptions } from "../transport/open-transport.js";
import { deployRelease, type DeployInput, type DeployResult, type StepReporter } from "./deploy-release.js";

export type HostDeployResult = DeployResult & { host: string };

export async function deployHosts(
  input: Omit<DeployInput, "roles">,
  options: ConnectOptions,
  concurrency: number,
  report: StepReporter,
  interrupts: Interrupts = NO_INTERRUPTS,
): Promise<HostDeployResult[]> {
  const env = input.environment;
  const who = `${userInfo().username}@${hostname()}`;
  const outcomes = await forEachHost(
    env,
    { ...options, sshUser: env.release.sshUser ?? env.server.deployUser },
    concurrency,
    (transport, host) =>
      deployRelease(
        { ...input, roles: host.roles },
        { transport, now: () => new Date(), who, pid: process.pid, report, interrupt: interrupts.forHost(host.name) },
      ),
    undefined,
    interrupts,
  );
  return outcomes.map((o) => {
    if (o.ok) return { ...o.value, host: o.host.name };
    const failed = { host: o.host.name, release: "", removedReleases: [], checks: [], steps: [], error: new GenError(o.error) };
    return o.interrupted ? { ...failed, outcome: "interrupted", interrupted: o.interrupted } : { ...failed, outcome: "failed" };
  });
}
