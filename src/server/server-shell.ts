// Runs the shell snippets of apply and release on the server: as root through `sudo -n` when the environment says
// so (apply), as the deploy user without it (release); every server path mapped under the environment's root and
// every value quoted.
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";
import type { Sandbox } from "../transport/sandbox.js";
import type { CommandResult, Step, Transport } from "../transport/transport.js";

/** A step's answer as text; `skipped` when an earlier step of its chain failed. */
export interface StepOutput extends CommandResult {
  skipped: boolean;
}

export interface ServerShell {
  transport: Transport;
  /** A server path as commands see it (under the root prefix), quoted for sh. */
  path: (serverPath: string) => string;
  quote: (value: string) => string;
  /** A server path as commands see it, unquoted (for argv, which the transport quotes). */
  raw: (serverPath: string) => string;
  /** Runs a script; the result is returned whatever the exit code. `step` names it in errors. */
  script: (script: string, step?: string) => Promise<CommandResult>;
  /** Runs a script and throws a GenError naming `what` when it fails. */
  must: (what: string, script: string) => Promise<CommandResult>;
  run: (argv: string[]) => Promise<CommandResult>;
  /** Steps sent together in one round trip to the host's session (with sudo when the shell has it). */
  steps: (steps: Step[]) => Promise<StepOutput[]>;
  sudo: boolean;
  /** A local folder standing in for the server: owners and service commands are recorded there, not applied. */
  sandbox: Sandbox | undefined;
}

/**
 * `sudo` defaults to the environment's useSudo (apply); the release step runs as the deploy user without it.
 * The sandbox never uses sudo: the folder belongs to whoever runs gen.
 */
export function serverShell(transport: Transport, env: Environment, options: { sudo?: boolean } = {}): ServerShell {
  const sudo = transport.sandbox ? false : (options.sudo ?? env.server.useSudo);
  // As root, nothing runs in the SSH user's home (sudo keeps the folder it was started in): no tool can pick up a
  // file the deploy user left there.
  const prologue = sudo ? "set -u\ncd / || exit 1\n" : "set -u\n";
  const steps = async (list: Step[]): Promise<StepOutput[]> =>
    (
      await transport.steps(
        list.map((step) => ({ ...step, script: `${prologue}${step.script}` })),
        { sudo },
      )
    ).map((r) => ({
      exitCode: r.exitCode,
      stdout: r.stdout.toString("utf8"),
      stderr: r.stderr.toString("utf8"),
      skipped: r.skipped ?? false,
    }));
  // A step of the session, not a command line: the sandbox's `sh -c` would take the script as an argument, which
  // cannot pass 128 KiB (an apply log line or a removal of 1500 staged files).
  const script = async (text: string, step?: string): Promise<CommandResult> => (await steps([{ name: step ?? "running a script", script: text }]))[0]!;
  return {
    transport,
    path: (serverPath) => quoteArg(pathUnderRoot(transport.root, serverPath)),
    quote: quoteArg,
    raw: (serverPath) => pathUnderRoot(transport.root, serverPath),
    script,
    must: async (what, text) => {
      const result = await script(text, what);
      if (result.exitCode !== 0) {
        throw new GenError(`${what} failed on ${transport.describe} (exit ${result.exitCode})`, {
          details: [...outputLines(result), ...sudoRefusedHint(sudo, result)],
        });
      }
      return result;
    },
    run: (argv) => transport.run(argv, { sudo }),
    steps,
    sudo,
    sandbox: transport.sandbox,
  };
}

/** When `sudo -n` itself refused, the one line that tells the user what to change. */
export function sudoRefusedHint(sudo: boolean, result: CommandResult): string[] {
  return sudo && /^sudo: /m.test(result.stderr)
    ? ["sudo -n refused: apply needs an SSH user (server.sshUser) that may run commands as root without a password, or --sudo-password to type its password"]
    : [];
}

export function outputLines(result: CommandResult): string[] {
  return `${result.stdout}\n${result.stderr}`
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
}
