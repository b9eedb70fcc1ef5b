// --hosts and --roles: the hosts of an environment a command acts on. Checked as soon as the environment is loaded,
// before anything connects: a host or role the environment does not have is wrong usage, naming those it has.
import type { LoadedEnvironment } from "../load/load-environment.js";
import { UsageError } from "../errors.js";
import { environmentHosts, type HostEntry } from "../transport/hosts.js";

export interface HostSelection {
  hosts?: string[];
  roles?: string[];
}

const ROLES = ["web", "worker"];

/** `loaded` with only the hosts named by --hosts that have a role of --roles (each, when given). */
export function selectHosts(loaded: LoadedEnvironment, selection: HostSelection): LoadedEnvironment {
  const { hosts: names, roles } = selection;
  if (!names && !roles) return loaded;
  const env = loaded.environment;
  const all = environmentHosts(env, loaded.name);
  const hasHosts = `${loaded.name}'s hosts: ${all.map(describeHost).join(", ")}`;
  const unknownHosts = (names ?? []).filter((name) => !all.some((h) => h.name === name));
  if (unknownHosts.length > 0) throw new UsageError(`--hosts: ${loaded.name} has no host ${unknownHosts.map((n) => JSON.stringify(n)).join(", ")}`, [hasHosts]);
  const unknownRoles = (roles ?? []).filter((role) => !ROLES.includes(role));
  if (unknownRoles.length > 0)
    throw new UsageError(`--roles: unknown role ${unknownRoles.map((r) => JSON.stringify(r)).join(", ")}: the roles are ${ROLES.join(", ")}`, [hasHosts]);
  const chosen = all.filter((h) => (!names || names.includes(h.name)) && (!roles || h.roles.some((role) => roles.includes(role))));
  if (chosen.length === 0) throw new UsageError(`no host of ${loaded.name} is ${[...(names ?? []), ...(roles ?? [])].join(" and ")}`, [hasHosts]);
  // The sandbox is its one host, whatever server.hosts says.
  if (env.server.transport === "local") return loaded;
  return { ...loaded, environment: { ...env, server: { ...env.server, hosts: chosen } } };
}

function describeHost(host: HostEntry): string {
  return `${host.name} (${host.roles.join(", ")})`;
}

/** The value of --hosts or --roles: names separated by commas, the option given once or several times. */
export function namesOption(option: string) {
  return (value: string | string[]): string[] => {
    const names = [value]
      .flat()
      .flatMap((v) => String(v).split(","))
      .map((n) => n.trim())
      .filter((n) => n.length > 0);
    if (names.length === 0) throw new Error(`option --${option} needs at least one name`);
    return [...new Set(names)];
  };
}
