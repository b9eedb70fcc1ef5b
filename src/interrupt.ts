// A request to stop (SIGINT, SIGTERM, SIGHUP) as the stages that change servers see it. Once it came, no new step
// starts; the step under way on each host finishes, and the stage then finishes or undoes what that step began,
// releases its lock and says which. The CLI owns the signals themselves (src/cli/interrupts.ts).
import { constants } from "node:os";
import { GenError, type ExitCode } from "./errors.js";

/** One host's view of the stop request. */
export interface Interrupt {
  /** The signal that asked gen to stop ("SIGINT"), once one came. */
  readonly signal: string | undefined;
  /** What the host is doing now, or undefined once it is done: shown if a second signal stops gen at once. */
  doing(step: string | undefined): void;
}

export interface Interrupts {
  readonly signal: string | undefined;
  forHost(host: string): Interrupt;
}

/** For callers that catch no signal (tests, the bench). */
export const NO_INTERRUPTS: Interrupts = { signal: undefined, forHost: () => ({ signal: undefined, doing: () => {} }) };

/** 128 + the signal's number, as a shell reports a command that a signal stopped: 130 for SIGINT. */
export function signalExitCode(signal: string): ExitCode {
  const number = (constants.signals as Record<string, number | undefined>)[signal];
  return (number === undefined ? 130 : 128 + number) as ExitCode;
}

/** A host stopped at a point where nothing of its step had begun on the server. */
export class InterruptedError extends GenError {
  readonly signal: string;
  constructor(signal: string, message: string, details: string[] = []) {
    super(message, { exitCode: signalExitCode(signal), details });
    this.name = "InterruptedError";
    this.signal = signal;
  }
}

/** Throws an InterruptedError saying `what` when a stop was asked: called before a step that would change a server. */
export function stopIfInterrupted(interrupt: Interrupt | undefined, what: string): void {
  if (interrupt?.signal) throw new InterruptedError(interrupt.signal, `interrupted (${interrupt.signal}) ${what}`);
}
