// Flags shared by the commands that reach servers, and the TTY passphrase prompt (asked through output.ts).
import { statSync } from "node:fs";
import type { Argv } from "yargs";
import { GenError } from "../errors.js";
import { rememberSecret } from "../secrets/index.js";
import type { ConnectOptions } from "../transport/open-transport.js";
import { project, type GlobalOptions } from "./environment-options.js";
import { askHidden } from "./output.js";
import { namesOption } from "./host-selection.js";

export interface ConnectArgs {
  "accept-new-host-key": boolean;
  "known-hosts"?: string;
  identity?: string;
  "ssh-config"?: string;
  concurrency: number;
  hosts?: string[];
  roles?: string[];
}

export function withConnectOptions<T>(yargs: Argv<T>) {
  return yargs
    .option("accept-new-host-key", {
      type: "boolean",
      default: false,
      describe: "trust and record the key of a host seen for the first time (a changed key is always refused)",
    })
    .option("known-hosts", { type: "string", requiresArg: true, describe: "known_hosts file (default ~/.ssh/known_hosts)" })
    .option("identity", { type: "string", requiresArg: true, describe: "private key file (default: ssh-agent, then ~/.ssh/id_*)" })
    .option("ssh-config", { type: "string", requiresArg: true, describe: "ssh config file (default ~/.ssh/config)" })
    .option("concurrency", { type: "number", default: 10, describe: "hosts worked on at once", coerce: wholeNumber("concurrency") })
    .option("hosts", {
      type: "string",
      requiresArg: true,
      describe: "only these hosts, by name (comma-separated; default: every host)",
      coerce: namesOption("hosts"),
    })
    .option("roles", {
      type: "string",
      requiresArg: true,
      describe: "only the hosts with one of these roles (web, worker; comma-separated)",
      coerce: namesOption("roles"),
    });
}

function wholeNumber(option: string) {
  return (value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new Error(`option --${option} expects a whole number from 1 up`);
    return value;
  };
}

/** `projectDir`: the project's folder (load/project.ts), where the sandboxes are, whatever subfolder gen runs in. */
export function connectOptions(args: ConnectArgs & GlobalOptions, envName: string): ConnectOptions {
  if (args.identity) checkIdentityFile(args.identity);
  return {
    projectDir: project(args).root,
    envName,
    acceptNewHostKey: args["accept-new-host-key"],
    ...(args["known-hosts"] ? { knownHostsPath: args["known-hosts"] } : {}),
    ...(args.identity ? { identityFile: args.identity } : {}),
    ...(args["ssh-config"] ? { sshConfigPath: args["ssh-config"] } : {}),
    ...(process.stdin.isTTY ? { passphrase: passphraseOncePerKey() } : {}),
  };
}

/**
 * Asks for a key's passphrase on the terminal once per run: a deploy opens several connections to each host (its
 * configuration, its release, its uploads), as ssh-agent would spare the user typing it again.
 */
function passphraseOncePerKey(): (keyPath: string) => Promise<string | undefined> {
  const asked = new Map<string, Promise<string | undefined>>();
  return (keyPath) => {
    let answer = asked.get(keyPath);
    if (!answer) {
      answer = askHidden(`passphrase for ${keyPath}: `);
      asked.set(keyPath, answer);
    }
    return answer;
  };
}

export interface SudoPasswordArgs {
  "sudo-password": boolean;
}

/** For the commands that run as root through server.sshUser's sudo (diff, apply, deploy's configuration). */
export function withSudoPasswordOption<T>(yargs: Argv<T>) {
  return yargs.option("sudo-password", {
    type: "boolean",
    default: false,
    describe: "ask once for the SSH user's sudo password (on the terminal, not shown) and give it to sudo -S on its standard input",
  });
}

/**
 * With --sudo-password, the password asked once on the terminal, before any host is contacted. It is redacted from
 * all output like a secret ([secret:SUDO_PASSWORD]) and only ever sent on the input of `sudo -S`.
 */
export async function withSudoPassword(options: ConnectOptions, args: SudoPasswordArgs): Promise<ConnectOptions> {
  if (!args["sudo-password"]) return options;
  if (!process.stdin.isTTY) throw new GenError("--sudo-password asks for the password on a terminal, and standard input is not one: run gen from a terminal");
  const password = await askHidden("sudo password of the SSH user (server.sshUser): ");
  if (password === undefined) throw new GenError("no sudo password was typed: nothing was done");
  rememberSecret("SUDO_PASSWORD", password);
  return { ...options, sudoPassword: password };
}

/** A key file named on the command line must be there: otherwise the SSH login would only say that no key worked. */
function checkIdentityFile(path: string): void {
  let problem: string | undefined;
  try {
    if (!statSync(path).isFile()) problem = "is not a file";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem = code === "ENOENT" ? "no such file" : `cannot be read (${code ?? (error as Error).message})`;
  }
  if (problem)
    throw new GenError(`--identity ${path}: ${problem}; nothing was contacted`, {
      details: ["Name the private key file (e.g. ~/.ssh/id_ed25519), or leave --identity out to use ssh-agent and ~/.ssh/config."],
    });
}
