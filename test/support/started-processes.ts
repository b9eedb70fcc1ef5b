// Servers a test starts itself (sshd, PostgreSQL): stopped by PID, with their temp folder removed, when the test
// stops them, and also when the test process exits or is interrupted with one still running.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

export interface StopSignals {
  /** Sent first: the server's own orderly stop. */
  stop: NodeJS.Signals;
  /** Sent when it has not exited after `graceMs`, and at exit. */
  force: NodeJS.Signals;
  graceMs: number;
}

const running = new Map<number, { tempDir: string | undefined; force: NodeJS.Signals }>();
let exitCleanupRegistered = false;

/** Keeps `child` on the list the exit hook stops; `tempDir`, when given, is removed with it at exit. */
export function trackProcess(child: ChildProcess, signals: StopSignals, tempDir?: string): void {
  registerExitCleanup();
  if (child.pid !== undefined) running.set(child.pid, { tempDir, force: signals.force });
}

/** Sends `stop`, then `force` after the grace time, and waits for the exit. */
export async function stopProcess(child: ChildProcess, signals: StopSignals): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  running.delete(pid);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(pid, signals.stop);
  const forced = setTimeout(() => child.exitCode === null && process.kill(pid, signals.force), signals.graceMs);
  await exited;
  clearTimeout(forced);
}

function registerExitCleanup(): void {
  if (exitCleanupRegistered) return;
  exitCleanupRegistered = true;
  process.on("exit", stopAllSync);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stopAllSync();
      process.kill(process.pid, signal);
    });
  }
}

function stopAllSync(): void {
  for (const [pid, { tempDir, force }] of running) {
    try {
      process.kill(pid, force);
    } catch {
      // already gone
    }
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
  running.clear();
}
