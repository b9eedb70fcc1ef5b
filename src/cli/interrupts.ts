// How gen apply, deploy and rollback take SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal). While no host is
// being changed (loading, rendering, reading a server, asking, a local build), a signal stops gen at once, as the
// default action would: nothing of this run is under way on a server. Once a host is being changed, the first signal
// is a request (src/interrupt.ts): no new step starts, each host finishes or undoes the step under way, releases
// its lock and says which, and gen then ends by that signal (endBySignal), as its default action would have ended it:
// the shell's status is 128 + its number (130 for SIGINT), and a script's loop stops too, as it does only for a
// command that the signal stopped (an exit with status 130 is a command that handled it). A second signal stops gen at once,
// saying what each host was doing: the lock stays there, and that step ends on the server as it would after a lost
// connection (README, "Interrupts"). A signal that comes once the hosts that began have finished (between hosts, or
// after the last) is a request too: what they did is shown before gen ends.
import type { ExitCode } from "../errors.js";
import { InterruptedError, signalExitCode, type Interrupt, type Interrupts } from "../interrupt.js";
import type { Output } from "./output.js";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export interface CaughtInterrupts extends Interrupts {
  /** The command's exit status, or 128 + the signal's number once a signal came. */
  exitCode(code: ExitCode): ExitCode;
  /** Stops catching: the signals' default actions are back. */
  release(): void;
}

let active: { onSignal: (signal: NodeJS.Signals) => void; stopping: AbortController; received: () => string | undefined } | undefined;
/** The signal a command stopped for by request: gen ends by it once the command returned. */
let endWith: NodeJS.Signals | undefined;

/** Runs a command that changes servers with the signals caught; they are released when it returns. */
export async function withInterrupts(output: Output, command: string, run: (interrupts: CaughtInterrupts) => Promise<ExitCode>): Promise<ExitCode> {
  const interrupts = catchInterrupts(output, command);
  try {
    return interrupts.exitCode(await run(interrupts));
  } finally {
    interrupts.release();
  }
}

export function catchInterrupts(output: Output, command: string): CaughtInterrupts {
  // What each host under way is doing: a host is here from before it asks for its lock until it released it.
  const underWay = new Map<string, string>();
  /** Whether a host began: once it is no longer under way it has finished, and what it did is still to be shown. */
  let began = false;
  let received: string | undefined;
  const stopNow = (signal: NodeJS.Signals, lines: string[]) => {
    for (const line of lines) output.err(line);
    release();
    // The default action, now that gen no longer catches it: the parent sees gen stopped by the signal.
    process.kill(process.pid, signal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (underWay.size === 0 && (!began || received)) stopNow(signal, [`gen: ${signal}: stopped; no host was being changed by this ${command}`]);
    else if (underWay.size === 0) finishing(signal);
    else if (received) stopNow(signal, stoppedAtOnce(signal, command, underWay));
    else announce(signal);
  };
  const stopping = new AbortController();
  /** The signal taken as a request: gen ends by it once the command returned (endBySignal). */
  const request = (signal: NodeJS.Signals, said: string) => {
    received = signal;
    endWith = signal;
    // A question still waiting for its answer (rollback asks under the lock) is answered no.
    stopping.abort();
    output.err(said);
  };
  /** Between hosts, or after the last: no new host starts, and what the finished ones did is shown before gen ends. */
  const finishing = (signal: NodeJS.Signals) =>
    request(signal, `gen: ${signal}: stopping. No host is being changed by this ${command} now and no new one starts; what it did is shown, then gen ends`);
  const announce = (signal: NodeJS.Signals) => {
    const again = signal === "SIGINT" ? "Ctrl-C again" : "a second signal";
    const [es, s] = underWay.size === 1 ? ["es", "s"] : ["", ""];
    request(
      signal,
      `gen: ${signal}: stopping. No new step starts; ${[...underWay.keys()].join(", ")} finish${es} or undo${es} the step under way, then release${s} gen's lock (${again} stops at once, leaving the lock and the state shown)`,
    );
  };
  const listeners = SIGNALS.map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, listener] of listeners) process.on(signal, listener);
  const self = { onSignal, stopping, received: () => received };
  active = self;
  function release() {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
    if (active === self) active = undefined;
  }
  return {
    get signal() {
      return received;
    },
    forHost(host: string): Interrupt {
      return {
        get signal() {
          return received;
        },
        doing(step) {
          if (step === undefined) underWay.delete(host);
          else {
            underWay.set(host, step);
            began = true;
          }
        },
      };
    },
    exitCode: (code) => (received ? signalExitCode(received) : code),
    release,
  };
}

function stoppedAtOnce(signal: string, command: string, underWay: Map<string, string>): string[] {
  return [
    `gen: second ${signal}: stopped at once. gen's lock stays on each host below, which was:`,
    ...[...underWay].map(([host, step]) => `  ${host}: ${step}`),
    `The step under way ends on the server by itself, as after a lost connection (README, "Interrupts"). The next ${command} from this account on this machine takes the lock over, since this process is gone; from elsewhere, take it over with --force-unlock once nobody runs one.`,
  ];
}

/** Aborted once gen is stopping: a question then ends, answered no. */
export function questionSignal(): AbortSignal | undefined {
  return active?.stopping.signal;
}

/**
 * A question that ended without an answer: Ctrl-C (the terminal is in raw mode there, so it is a key, not a signal),
 * or gen is stopping already. Ctrl-C is taken as SIGINT (the question is answered no); without a command catching
 * signals, it stops the command with nothing changed.
 */
export function interruptedAtQuestion(): void {
  if (!active) throw new InterruptedError("SIGINT", "interrupted (SIGINT) at the question: nothing was changed");
  if (!active.received()) active.onSignal("SIGINT");
}

/**
 * Called last, once the command returned (start.ts): when it stopped for a signal, gen ends by that signal with its
 * default action, as if it had never caught it. Its output is written already (stdout and stderr are synchronous for
 * files, pipes and terminals). A closed terminal (SIGHUP) also spares Node 20's exit, which aborts when it cannot
 * reset the terminal (nodejs/node#51519).
 */
export function endBySignal(): void {
  if (endWith) process.kill(process.pid, endWith);
}
