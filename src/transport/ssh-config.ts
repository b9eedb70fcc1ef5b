// Resolves a host alias through ~/.ssh/config (HostName, Port, User, IdentityFile, UserKnownHostsFile,
// ProxyJump, ConnectTimeout, StrictHostKeyChecking, following Include). The environment's values are defaults;
// the ssh config overrides them, as OpenSSH does for an alias. A directive that would change how OpenSSH
// connects and that gen does not implement is refused, never ignored.

import { readdirSync, readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import picomatch from "picomatch";
import SSHConfig from "ssh-config";
import { GenError } from "../errors.js";

/** One hop of ProxyJump, as written: [user@]host[:port]. */
export interface JumpSpec {
  host: string;
  port?: number;
  user?: string;
}

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
  /** ProxyJump hops, first hop first. */
  jumps?: JumpSpec[];
  connectTimeoutSeconds?: number;
  /** StrictHostKeyChecking accept-new. */
  acceptNewHostKey?: boolean;
}

export interface SshConfigSource {
  /** Default ~/.ssh/config; a missing file means "no overrides". */
  configPath?: string;
  homeDir?: string;
}

export function resolveSshHost(alias: string, defaults: SshHostDefaults = {}, source: SshConfigSource = {}): ResolvedSshHost {
  const home = source.homeDir ?? homedir();
  const configPath = source.configPath ?? join(home, ".ssh", "config");
  const values = computeHost(configPath, alias, home);
  refuseUnsupported(values, configPath, alias);
  const user = first(values.user) ?? defaults.user ?? userInfo().username;
  const host = first(values.hostname) ?? alias;
  const expand = (path: string) => expandPath(path, { home, host, user });
  const identityFiles = list(values.identityfile).map(expand);
  const knownHostsPaths = list(values.userknownhostsfile)
    .flatMap((v) => v.split(/\s+/))
    .map(expand);
  return {
    alias,
    host,
    port: parsePort(first(values.port), configPath, alias) ?? defaults.port ?? 22,
    user,
    ...(identityFiles.length ? { identityFiles } : defaults.identityFiles ? { identityFiles: defaults.identityFiles.map(expand) } : {}),
    ...(knownHostsPaths.length ? { knownHostsPaths } : {}),
    ...jumpsOf(first(values.proxyjump), configPath, alias),
    ...connectTimeoutOf(first(values.connecttimeout), configPath, alias),
    ...(first(values.stricthostkeychecking)?.toLowerCase() === "accept-new" ? { acceptNewHostKey: true } : {}),
  };
}

/** What gen reads from an ssh config. */
const SUPPORTED = ["hostname", "port", "user", "identityfile", "userknownhostsfile", "proxyjump", "connecttimeout", "stricthostkeychecking"];
/** Directives of interactive sessions or of connection reuse, which do not change how gen connects or what it trusts. */
const IRRELEVANT = new Set([
  "host",
  "match",
  "serveraliveinterval",
  "serveralivecountmax",
  "tcpkeepalive",
  "forwardagent",
  "forwardx11",
  "forwardx11trusted",
  "forwardx11timeout",
  "addkeystoagent",
  "usekeychain",
  "controlmaster",
  "controlpath",
  "controlpersist",
  "compression",
  "loglevel",
  "visualhostkey",
  "hashknownhosts",
  "sendenv",
  "setenv",
  "requesttty",
  "escapechar",
  "updatehostkeys",
  "checkhostip",
  "batchmode",
  "localforward",
  "remoteforward",
  "dynamicforward",
  "exitonforwardfailure",
  "gatewayports",
  "clearallforwardings",
  "permitlocalcommand",
  "identitiesonly",
  "preferredauthentications",
  "passwordauthentication",
  "kbdinteractiveauthentication",
  "challengeresponseauthentication",
  "pubkeyauthentication",
  "gssapiauthentication",
  "gssapidelegatecredentials",
  "numberofpasswordprompts",
  "connectionattempts",
  "sessiontype",
  "stdinnull",
  "forkafterauthentication",
  "ipqos",
  "obscurekeystroketiming",
  "enableescapecommandline",
]);

function refuseUnsupported(values: Record<string, string | string[]>, configPath: string, alias: string): void {
  const refused = Object.keys(values).filter((key) => !SUPPORTED.includes(key) && !IRRELEVANT.has(key));
  const strict = first(values.stricthostkeychecking)?.toLowerCase();
  if (strict === "no" || strict === "off") refused.push("stricthostkeychecking no (gen always checks host keys; --accept-new-host-key trusts a first key)");
  if (refused.length === 0) return;
  throw new GenError(`${configPath}: Host ${alias}: gen does not support ${refused.join(", ")}; it refuses rather than connect differently from ssh`, {
    details: [`gen reads ${SUPPORTED.join(", ")} (and follows Include); remove the directive for this host or give gen its own Host entry`],
  });
}

/** ProxyJump [user@]host[:port][,...], or none. */
function jumpsOf(value: string | undefined, configPath: string, alias: string): { jumps?: JumpSpec[] } {
  if (value === undefined || value.toLowerCase() === "none") return {};
  const jumps = value.split(",").map((hop) => {
    const match = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s[\]]+)(?::(\d+))?$/.exec(hop.trim());
    if (!match) throw new GenError(`${configPath}: Host ${alias}: ProxyJump ${JSON.stringify(hop)} is not [user@]host[:port] (ssh:// URIs are not supported)`);
    const port = match[3] === undefined ? undefined : parsePort(match[3], configPath, alias);
    return { host: match[2]!.replace(/^\[|\]$/g, ""), ...(port !== undefined ? { port } : {}), ...(match[1] ? { user: match[1] } : {}) };
  });
  return { jumps };
}

function connectTimeoutOf(value: string | undefined, configPath: string, alias: string): { connectTimeoutSeconds?: number } {
  if (value === undefined) return {};
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new GenError(`${configPath}: Host ${alias}: ConnectTimeout must be a whole number of seconds, got ${JSON.stringify(value)}`);
  return { connectTimeoutSeconds: seconds };
}

function computeHost(configPath: string, alias: string, home: string): Record<string, string | string[]> {
  let text: string;
  try {
    text = readWithIncludes(configPath, home, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    if (error instanceof GenError) throw error;
    throw new GenError(`cannot read ssh config ${configPath}: ${(error as Error).message}`, { cause: error });
  }
  // CanonicalizeHostname makes the ssh-config package run nslookup: a name lookup gen was not asked to make.
  if (/^\s*CanonicalizeHostname[\s=]+(yes|always)/im.test(text)) {
    throw new GenError(`${configPath}: CanonicalizeHostname is not supported by gen; give the full host name in HostName instead`);
  }
  try {
    // `Match exec` would run a command from the config just to resolve a name: never do that here.
    return SSHConfig.parse(text).compute(alias, { ignoreCase: true, matchExec: false });
  } catch (error) {
    throw new GenError(`${configPath}: cannot parse ssh config: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The config with every Include replaced by the files it names (relative to ~/.ssh, globs allowed, in sorted
 * order, missing ones skipped as ssh does). An Include inside a Host or Match block only applies to it: the
 * block's header is repeated after the included text so that the block's remaining lines keep their condition.
 */
function readWithIncludes(path: string, home: string, depth: number): string {
  if (depth > 16) throw new GenError(`${path}: Include nested more than 16 deep (a loop?)`);
  const text = readFileSync(path, "utf8");
  const out: string[] = [];
  let header: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const include = /^\s*Include(?:\s*=\s*|\s+)(.+?)\s*$/i.exec(line);
    if (/^\s*(Host|Match)(\s|=)/i.test(line)) header = line;
    if (!include) {
      out.push(line);
      continue;
    }
    for (const pattern of include[1]!.match(/"[^"]*"|\S+/g) ?? []) {
      const unquoted = pattern.replace(/^"|"$/g, "");
      const expanded = unquoted === "~" || unquoted.startsWith("~/") ? home + unquoted.slice(1) : unquoted;
      for (const file of expandGlob(isAbsolute(expanded) ? expanded : join(home, ".ssh", expanded))) {
        out.push(`# gen: included from ${file}`, readWithIncludes(file, home, depth + 1));
      }
    }
    // The lines after the Include keep the condition they had: their block's, or none (Host * is the same).
    out.push(header ?? "Host *");
  }
  return out.join("\n");
}

function expandGlob(path: string): string[] {
  const name = basename(path);
  if (!/[*?[]/.test(name)) return readable(path) ? [path] : [];
  if (/[*?[]/.test(dirname(path))) throw new GenError(`Include ${path}: gen expands wildcards in the file name only`);
  const match = picomatch(name, { dot: false });
  let names: string[] = [];
  try {
    names = readdirSync(dirname(path));
  } catch {
    // a folder that is not there includes nothing, as with ssh
  }
  return names
    .filter((n) => match(n))
    .sort()
    .map((n) => join(dirname(path), n));
}

function readable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
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
