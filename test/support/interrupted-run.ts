// Runs the shipped bin as a terminal would and sends it signals while it works: gen runs in a process group of its
// own, and each signal goes to the whole group, as Ctrl-C and a closed terminal send theirs. When the signal goes is
// chosen by an event of the run (a line it prints, a file changing on the server, a time since it started), so
// that a run on a loaded machine is stopped at the same point of its work; tests assert what it left, never when.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";
import { genBin } from "./run-gen.js";
import { testCacheHome } from "./test-cache-home.js";

/** When to send a signal, counted from the start of the run, or from the previous signal for the ones after it. */
export type SignalPoint =
  | { afterMs: number }
  /** Once the output (stdout and stderr together) matches, then `afterMs` more. */
  | { output: RegExp; afterMs?: number }
  /** Once `check` (polled every 2 ms) is true: a file on the server changed, say. */
  | { when: () => boolean };

export interface InterruptedRun {
  /** The exit status, or null when a signal stopped gen (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  /** How many of the signals were sent before gen ended. */
  sent: number;
  pid: number;
}

/** At `at`: `signal` to gen's process group, or `run` (given gen's PID), or both (run first). */
export interface Interruption {
  at: SignalPoint;
  signal?: NodeJS.Signals;
  run?: (pid: number) => void;
}

/** Far above any run here on a loaded machine, far below a test runner's patience. */
const HANG_MS = 180_000;

export function runInterrupted(args: string[], interruptions: Interruption[], options: { cwd?: string } = {}): Promise<InterruptedRun> {
  const env = { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome() };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [genBin, ...args], { cwd: options.cwd ?? process.cwd(), env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let err = "";
    let sent = 0;
    let ended = false;
    let next: (() => void) | undefined;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, action: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        action();
      }, ms);
      timers.add(timer);
    };
    const send = (index: number) => {
      if (ended) return;
      const { signal, run } = interruptions[index]!;
      run?.(child.pid!);
      if (signal) {
        try {
          process.kill(-child.pid!, signal);
          sent++;
        } catch {
          return;
        }
      }
      arm(index + 1);
    };
    const arm = (index: number) => {
      const point = interruptions[index]?.at;
      next = undefined;
      if (!point) return;
      if ("when" in point) {
        const poll = () => (point.when() ? send(index) : later(2, poll));
        return poll();
      }
      if ("output" in point) {
        next = () => {
          if (!point.output.test(stripVTControlCharacters(out + err))) return;
          next = undefined;
          later(point.afterMs ?? 0, () => send(index));
        };
        return next();
      }
      later(point.afterMs, () => send(index));
    };
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      next?.();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      next?.();
    });
    child.on("error", reject);
    const hang = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), HANG_MS);
    child.on("close", (code, signal) => {
      ended = true;
      clearTimeout(hang);
      for (const timer of timers) clearTimeout(timer);
      resolve({ code, signal, out: stripVTControlCharacters(out), err: stripVTControlCharacters(err), sent, pid: child.pid! });
    });
    arm(0);
  });
}

/** `count` points from `from` to `to` (fractions of a run), evenly spread. */
export function spreadOver(from: number, to: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + ((to - from) * i) / Math.max(1, count - 1));
}

/** The children of `pid`: the sandbox's session driver is one, in a process group (and session) of its own. */
export function childPids(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/));
  return children.filter((c) => c !== "").map(Number);
}
