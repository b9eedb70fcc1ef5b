// Runs the shell steps of apply and release on the server: as root through `sudo -n` when the environment says so
// (apply), as the deploy user without it (release); every server path mapped under the environment's root and every
// value quoted. Steps are typed (transport/typed-steps.ts): runSteps(shell, [...]) sends them in one round trip.
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";
import type { CommandResult, Transport } from "../transport/transport.js";
import { stepSender, type StepSender, type TypedStep } from "../transport/typed-steps.js";

export type { StepOutput } from "../transport/typed-steps.js";

export interface ServerShell extends StepSender {
  transport: Transport;
  /** A server path as commands see it (under the root prefix), quoted for sh. */
  path: (serverPath: string) => string;
  quote: (value: string) => string;
  /** A server path as commands see it, unquoted (for argv, which the transport quotes). */
  raw: (serverPath: string) => string;
  sudo: boolean;
}

/**
 * `sudo` defaults to the environment's useSudo (apply); the release step runs as the deploy user without it. A local
 * folder (local.ts, the sandbox) runs every step as whoever runs gen, whom the folder belongs to.
 */
export function serverShell(transport: Transport, env: Environment, options: { sudo?: boolean } = {}): ServerShell {
  const sudo = options.sudo ?? env.server.useSudo;
  // As root, nothing runs in the SSH user's home (sudo keeps the folder it was started in): no tool can pick up a
  // file the deploy user left there.
  const prologue = sudo ? "set -u\ncd / || exit 1\n" : "set -u\n";
  return {
    ...stepSender(transport, { sudo, prologue }),
    transport,
    path: (serverPath) => quoteArg(pathUnderRoot(transport.root, serverPath)),
    quote: quoteArg,
    raw: (serverPath) => pathUnderRoot(transport.root, serverPath),
    sudo,
  };
}

/**
 * A step that only has to succeed: a failure names it, the host and the exit status, with its output (and what to
 * change when `sudo -n` itself refused).
 */
export function statusStep(shell: ServerShell, name: string, script: string, stdin?: string): TypedStep<void> {
  return {
    name,
    script,
    ...(stdin === undefined ? {} : { stdin }),
    parse: (run) =>
      run.exitCode === 0
        ? { ok: true, value: undefined }
        : {
            ok: false,
            error: new GenError(`${name} failed on ${shell.transport.describe} (exit ${run.exitCode})`, {
              details: [...outputLines(run), ...sudoRefusedHint(shell.sudo, run)],
            }),
          },
  };
}

/** When `sudo -n` itself refused, the one line that tells the user what to change. */
export function sudoRefusedHint(sudo: boolean, result: Pick<CommandResult, "stderr">): string[] {
  return sudo && /^sudo: /m.test(result.stderr)
    ? ["sudo -n refused: apply needs an SSH user (server.sshUser) that may run commands as root without a password, or --sudo-password to type its password"]
    : [];
}

export function outputLines(result: Pick<CommandResult, "stdout" | "stderr">): string[] {
  return `${result.stdout}\n${result.stderr}`
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
}
