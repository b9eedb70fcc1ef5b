// The hosts of an environment, as every command that reaches servers sees them (a module of its own, without the SSH
// code: the command line checks --hosts and --roles against them before anything connects).
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";

export type HostEntry = Environment["server"]["hosts"][number];

/** The hosts a command acts on; the local transport stands for one host. */
export function environmentHosts(env: Environment, envName: string): HostEntry[] {
  if (env.server.transport === "local") return [{ name: "local", host: "local", port: 0, roles: ["web", "worker"], hostKey: undefined, root: env.server.root }];
  if (env.server.hosts.length === 0) {
    throw new GenError(`environment ${envName} names no server: set server.host (or server.hosts) in environments/${envName}`);
  }
  return env.server.hosts;
}
