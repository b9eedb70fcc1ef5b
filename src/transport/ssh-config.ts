// Resolves a host alias through ~/.ssh/config (HostName, Port, User, IdentityFile, UserKnownHostsFile).
// The environment's values are defaults; the ssh config overrides them, as OpenSSH does for an alias.

import { readFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import SSHConfig from "ssh-config";
import { GenError } from "../errors.js";

export interface SshHostDefaults {
  port?: number;
  user?: string;
  identityFiles?: string[];
}

export interface ResolvedSshHost {
  /** The name as written in the environment. */
  alias: string;
  /** What to connect to (HostName, or the alias itself). */
  host: string;
  port: number;
  user: string;
  /** Only present when the config or the defaults name some; the SSH transport then skips its defaults. */
  identityFiles?: string[];
  knownHostsPaths?: string[];
}

export interface SshConfigSource {
  /** Default ~/.ssh/config; a missing file means "no overrides". */
  configPath?: string;
  homeDir?: string;
}

export async function resolveSshHost(
  alias: string,
  defaults: SshHostDefaults = {},
  source: SshConfigSource = {},
): Promise<ResolvedSshHost> {
  const home = source.homeDir ?? homedir();
  const configPath = source.configPath ?? join(home, ".ssh", "config");
  const values = await computeHost(configPath, alias);
  const user = first(values.user) ?? defaults.user ?? userInfo().username;
  const host = first(values.hostname) ?? alias;
  const expand = (path: string) => expandPath(path, { home, host, user });
  const identityFiles = list(values.identityfile).map(expand);
  const knownHostsPaths = list(values.userknownhostsfile).flatMap((v) => v.split(/\s+/)).map(expand);
  return {
    alias,
    host,
    port: parsePort(first(values.port), configPath, alias) ?? defaults.port ?? 22,
    user,
    ...(identityFiles.length ? { identityFiles } : defaults.identityFiles ? { identityFiles: defaults.identityFiles.map(expand) } : {}),
    ...(knownHostsPaths.length ? { knownHostsPaths } : {}),
  };
}

async function computeHost(configPath: string, alias: string): Promise<Record<string, string | string[]>> {
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new GenError(`cannot read ssh config ${configPath}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // `Match exec` would run a command from the config just to resolve a name: never do that here.
    return SSHConfig.parse(text).compute(alias, { ignoreCase: true, matchExec: false });
  } catch (error) {
    throw new GenError(`${configPath}: cannot parse ssh config: ${(error as Error).message}`, { cause: error });
  }
}

function parsePort(value: string | undefined, configPath: string, alias: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  throw new GenError(`${configPath}: Host ${alias}: Port must be a number from 1 to 65535, got ${JSON.stringify(value)}`);
}

/** `~` and the tokens OpenSSH allows in IdentityFile: %d home, %h host, %r remote user, %u local user, %%. */
export function expandPath(path: string, context: { home: string; host: string; user: string }): string {
  const withHome = path === "~" || path.startsWith("~/") ? context.home + path.slice(1) : path;
  return withHome.replace(/%([dhru%])/g, (_, token: string) => {
    if (token === "d") return context.home;
    if (token === "h") return context.host;
    if (token === "r") return context.user;
    if (token === "u") return userInfo().username;
    return "%";
  });
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
