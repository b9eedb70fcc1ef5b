// While gen is attached to a process on a server (gen logs, gen run), SIGINT, SIGTERM and SIGHUP are meant for that
// process: each is handed to `onSignal` (which stops journalctl -f, or passes the signal on to the management
// command), and gen ends once that process has ended and its connection is closed, never leaving it behind.
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export interface PassedSignals {
  /** The first signal that came, if one did. */
  readonly first: NodeJS.Signals | undefined;
  /** Stops catching: the signals' default actions are back. */
  release: () => void;
}

/** `count`: how many signals came, this one included. */
export function passSignals(onSignal: (signal: NodeJS.Signals, count: number) => void): PassedSignals {
  let first: NodeJS.Signals | undefined;
  let count = 0;
  const listeners = SIGNALS.map((signal) => {
    const listener = () => {
      first ??= signal;
      onSignal(signal, ++count);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return {
    get first() {
      return first;
    },
    release: () => {
      for (const [signal, listener] of listeners) process.removeListener(signal, listener);
    },
  };
}
