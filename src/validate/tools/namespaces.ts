// Whether `unshare` can give a tool a private network or mount namespace here, probed once per PATH.
// Root uses plain namespaces; other users get them inside a user namespace (`--map-root-user`).
// Effects: spawns short-lived `unshare` probes; a probe's tmpfs mount dies with its namespace.

import { programText } from "../../program-text.js";
import type { ToolRunOptions } from "./tool-report.js";
import { envOf, findExecutable, isRoot, runCommand } from "./tool-runner.js";

export interface NamespaceSupport {
  /** Command prefix giving a private network namespace, or undefined when that does not work here. */
  net?: string[];
  /** Command prefix giving a private mount namespace (mounts are allowed inside), or undefined. */
  mount?: string[];
  /** Absolute paths of the helpers the mount scripts call. */
  mountBinary?: string;
  shell?: string;
}

const probes = new Map<string, Promise<NamespaceSupport>>();

export function namespaceSupport(options: ToolRunOptions): Promise<NamespaceSupport> {
  if (options.namespaces === false) return Promise.resolve({});
  const env = envOf(options);
  const key = `${process.getuid?.()}:${env.PATH ?? ""}`;
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = probeNamespaces(env);
    probes.set(key, probe);
  }
  return probe;
}

async function probeNamespaces(env: NodeJS.ProcessEnv): Promise<NamespaceSupport> {
  const [unshare, mountBinary, shell] = await Promise.all(["unshare", "mount", "sh"].map((name) => findExecutable(name, env)));
  if (unshare === undefined) return {};
  const user = isRoot() ? [] : ["--user", "--map-root-user"];
  const net = [unshare, ...user, "--net"];
  const mount = [unshare, ...user, "--mount", "--propagation", "private"];
  const run = (argv: string[]) => runCommand(argv[0]!, argv.slice(1), { env, timeoutMs: 5000 });
  const [netProbe, mountProbe] = await Promise.all([
    run([...net, unshare, "--version"]),
    mountBinary === undefined ? undefined : run([...mount, mountBinary, "-n", "-t", "tmpfs", "tmpfs", "/run"]),
  ]);
  const mountWorks = mountProbe?.exitCode === 0 && shell !== undefined;
  return {
    net: netProbe.exitCode === 0 ? net : undefined,
    mount: mountWorks ? mount : undefined,
    mountBinary: mountWorks ? mountBinary : undefined,
    shell: mountWorks ? shell : undefined,
  };
}

/**
 * argv that runs `command` in a private mount namespace after `mounts` ([source-or-"tmpfs", target] pairs):
 * tmpfs over a folder, or a bind mount of a private copy over a host file (a missing folder target is made first,
 * so only target folders inside an earlier tmpfs). The script is constant (mount-namespace.sh); paths are arguments.
 */
export function inMountNamespace(support: NamespaceSupport, mounts: Array<[string, string]>, command: string[]): string[] {
  const { mount, mountBinary, shell } = support;
  if (mount === undefined || mountBinary === undefined || shell === undefined) throw new Error("no mount namespace");
  return [...mount, shell, "-c", programText(import.meta.url, "./mount-namespace.sh"), "sh", mountBinary, String(mounts.length), ...mounts.flat(), ...command];
}
