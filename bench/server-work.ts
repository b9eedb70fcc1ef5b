// What a command costs the server: the CPU time of every process of its SSH sessions, read from a cgroup (v2) that
// the bench's sshd is moved into (what sshd forks for a connection stays in it), and the programs those sessions
// started, counted in an untimed pass of their own by strace following the sshd (execve calls that succeeded).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const CGROUP2_MOUNTS = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

export interface ServerWatch {
  /** Server CPU (user + system) spent in the sshd's cgroup while `run` ran, in ms. */
  cpuMs(run: () => Promise<unknown>): Promise<number>;
  /** The programs the sessions started while `run` ran, by name (sshd's re-execution of itself left out). */
  programs(run: () => Promise<unknown>): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** A watch on the sshd of PID `sshdPid`, or why there can be none here. */
export async function watchServer(sshdPid: number, tempDir: string): Promise<ServerWatch | string> {
  const mount = CGROUP2_MOUNTS.find((m) => existsSync(join(m, "cgroup.controllers")));
  if (!mount) return "no cgroup v2 hierarchy is mounted";
  if (process.getuid?.() !== 0) return "it needs root (a cgroup and strace)";
  const group = join(mount, `gen-bench-${process.pid}-${sshdPid}`);
  await mkdir(group);
  await writeFile(join(group, "cgroup.procs"), String(sshdPid));
  const usageUs = async () => Number(/^usage_usec (\d+)$/m.exec(await readFile(join(group, "cpu.stat"), "utf8"))?.[1]);
  return {
    async cpuMs(run) {
      const before = await usageUs();
      await run();
      return ((await usageUs()) - before) / 1000;
    },
    programs: (run) => tracePrograms(sshdPid, join(tempDir, `execve-${Date.now()}.trace`), run),
    async stop() {
      // The sshd goes back to the root cgroup so that the bench's one can be removed (it may already have exited).
      await writeFile(join(mount, "cgroup.procs"), String(sshdPid)).catch(() => undefined);
      await rmdir(group).catch(() => undefined);
    },
  };
}

/** The programs started by the sshd of PID `pid` and its sessions while `run` ran, by name (strace writes its trace to `out`). */
export async function tracePrograms(pid: number, out: string, run: () => Promise<unknown>): Promise<Map<string, number>> {
  const strace = spawn("strace", ["-f", "-e", "trace=execve", "-e", "signal=none", "-p", String(pid), "-o", out], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    strace.once("error", reject);
    strace.once("exit", resolve);
  });
  try {
    await attached(strace.stderr, exited);
    await run();
  } finally {
    strace.kill("SIGINT");
    await exited;
  }
  const text = await readFile(out, "utf8");
  await rm(out, { force: true });
  return countPrograms(text);
}

/** strace says "Process N attached" on standard error once it traces the sshd: only then can the run start. */
function attached(stderr: NodeJS.ReadableStream, exited: Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = "";
    stderr.on("data", (chunk: Buffer) => {
      said += chunk.toString();
      if (/attached/.test(said)) resolve();
    });
    void exited.then(() => reject(new Error(`strace ended before it attached to the sshd: ${said.trim()}`)));
  });
}

/**
 * `1234 execve("/usr/bin/cat", ["cat", ...], ...) = 0`: the program's base name, per successful call. With -f a
 * call another process interrupts is cut in two: `1234 execve("/usr/bin/cat", ... <unfinished ...>`, then
 * `1234 <... execve resumed>...) = 0`.
 */
export function countPrograms(trace: string): Map<string, number> {
  const counts = new Map<string, number>();
  const pending = new Map<string, string>();
  const count = (path: string) => {
    const name = path.split("/").pop()!;
    if (name === "sshd" || name === "sshd-session" || name === "sshd-auth") return;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  for (const line of trace.split("\n")) {
    const whole = /^(\d+) +execve\("([^"]+)".* = 0$/.exec(line);
    if (whole) count(whole[2]!);
    const cut = /^(\d+) +execve\("([^"]+)".*<unfinished \.\.\.>$/.exec(line);
    if (cut) pending.set(cut[1]!, cut[2]!);
    const resumed = /^(\d+) +<\.\.\. execve resumed>.* = 0$/.exec(line);
    if (resumed && pending.has(resumed[1]!)) count(pending.get(resumed[1]!)!);
    if (resumed) pending.delete(resumed[1]!);
  }
  return counts;
}

export function totalPrograms(counts: Map<string, number>): number {
  return [...counts.values()].reduce((a, b) => a + b, 0);
}

/** "bash 9, cat 3, python3 2, ..." most started first. */
export function describePrograms(counts: Map<string, number>): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");
}
