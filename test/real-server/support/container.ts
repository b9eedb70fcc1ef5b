// A Debian 12 container with systemd as its PID 1, booted with systemd-nspawn for the real-server tier.
// Its root is an overlay over the cached root filesystem (rootfs.ts), so each container starts fresh in a second.
// It has a private network namespace with only its own loopback: nginx (80/443), PostgreSQL, Redis and sshd (22)
// listen there without meeting the host's. Commands reach it through nsenter: `exec` runs inside the container,
// `inNet` runs a host program (gen, curl) in the container's network namespace only.
// nspawn is started from a cgroup made for this container (two containers never share one) and stopped by its PID;
// a reboot inside makes nspawn exit with 133, and the container is booted again the same way.
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureRootfs } from "./rootfs.js";

const exec = promisify(execFile);

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export interface RunOptions {
  input?: string;
  /** Run as this user of the container (runuser); root by default. */
  user?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface Container {
  name: string;
  /** The container's "/" as a path on this machine (the overlay's merged folder). */
  root: string;
  /** A host folder of this container for the test's own files (keys, projects), removed by stop(). */
  workDir: string;
  /** The PID (on this machine) of the container's systemd. */
  leader(): number;
  /** Runs argv inside the container (its mounts, PIDs and network), as root or `options.user`. */
  exec(argv: string[], options?: RunOptions): Promise<RunResult>;
  /** Runs a program of this machine inside the container's network namespace only (its files stay the host's). */
  inNet(argv: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running host program in the container's network namespace (a load generator). */
  spawnInNet(argv: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): ChildProcess;
  /** `systemctl reboot` inside; resolves once the container is running again. */
  reboot(): Promise<void>;
  /** Powers it off (SIGTERM to nspawn), unmounts and removes its folders and cgroups. */
  stop(): Promise<void>;
}

export interface ContainerOptions {
  /** Writes into the container's root before the first boot (users, keys, configuration). */
  provision: (root: string, container: Pick<Container, "name" | "workDir">) => Promise<void>;
  log?: (line: string) => void;
}

const CGROUP_HIERARCHIES = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];
const CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const live = new Set<() => void>();

export async function startContainer(options: ContainerOptions): Promise<Container> {
  if (process.getuid?.() !== 0) throw new Error("the real-server tier boots containers with systemd-nspawn: run it as root (npm run test:full does)");
  const log = options.log ?? (() => {});
  const lower = await ensureRootfs(log);
  const name = `genrs${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const workDir = await mkdtemp(join("/var/tmp", `gen-real-server-${name}-`));
  const root = join(workDir, "root");
  for (const dir of ["upper", "work", "root", "files"]) mkdirSync(join(workDir, dir));
  await exec("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${workDir}/upper,workdir=${workDir}/work`, root]);
  const state: { nspawn?: ChildProcess; leader?: number; exited?: Promise<number | null> } = {};
  const cleanupSync = () => {
    const pid = state.nspawn?.pid;
    if (pid && state.nspawn!.exitCode === null && state.nspawn!.signalCode === null) {
      // A clean power-off first (SIGTERM to nspawn), then SIGKILL; the mount goes only once nspawn is gone.
      // Until it is gone or a zombie (node cannot reap it while spawnSync blocks).
      const alive = `s=$(ps -o stat= -p ${pid}) && [ "\${s#Z}" = "$s" ]`;
      const wait = (seconds: number) => spawnSync("sh", ["-c", `i=0; while ${alive} && [ $i -lt ${seconds * 10} ]; do sleep 0.1; i=$((i+1)); done`]);
      for (const [signal, seconds] of [
        ["SIGTERM", 15],
        ["SIGKILL", 10],
      ] as const) {
        try {
          process.kill(pid, signal);
        } catch {}
        wait(seconds);
      }
    }
    spawnSync("umount", [root]);
    removeCgroups(name);
    rmSync(workDir, { recursive: true, force: true });
  };
  live.add(cleanupSync);
  registerExitHook();
  try {
    await options.provision(root, { name, workDir: join(workDir, "files") });
    await boot(name, root, workDir, state, log);
  } catch (error) {
    cleanupSync();
    live.delete(cleanupSync);
    throw error;
  }

  const leader = () => {
    if (state.leader === undefined) throw new Error(`container ${name} is not running`);
    return state.leader;
  };
  const nsenter = (all: boolean) => ["nsenter", "-t", String(leader()), ...(all ? ["-m", "-u", "-i", "-n", "-p"] : ["-n"]), "--"];
  const container: Container = {
    name,
    root,
    workDir: join(workDir, "files"),
    leader,
    exec: (argv, opts = {}) => {
      const asUser = opts.user ? ["runuser", "-u", opts.user, "--"] : [];
      const cd = opts.cwd ? ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", opts.cwd] : [];
      const env = ["env", "-i", `PATH=${CONTAINER_PATH}`, "LANG=C.UTF-8", ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`)];
      return runProcess([...nsenter(true), ...env, ...asUser, ...cd, ...argv], { ...opts, cwd: undefined, env: undefined });
    },
    inNet: (argv, opts = {}) => runProcess([...nsenter(false), ...argv], opts),
    spawnInNet: (argv, opts = {}) => {
      const [command, ...args] = [...nsenter(false), ...argv];
      return spawn(command!, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    },
    reboot: async () => {
      const old = state.nspawn!;
      const exited = state.exited!;
      await container.exec(["systemctl", "reboot"]).catch(() => {});
      const status = await withTimeout(exited, 60_000, `container ${name} did not go down after systemctl reboot`);
      if (status !== 133) throw new Error(`nspawn of ${name} exited with ${status} on reboot, not 133`);
      if (old.pid === state.nspawn?.pid) await boot(name, root, workDir, state, log);
    },
    stop: async () => {
      const nspawn = state.nspawn;
      if (nspawn?.pid && nspawn.exitCode === null && nspawn.signalCode === null) {
        process.kill(nspawn.pid, "SIGTERM");
        const off = await Promise.race([state.exited!, sleep(30_000).then(() => "timeout" as const)]);
        if (off === "timeout") process.kill(nspawn.pid, "SIGKILL");
        await state.exited;
      }
      state.leader = undefined;
      cleanupSync();
      live.delete(cleanupSync);
    },
  };
  return container;
}

async function boot(
  name: string,
  root: string,
  workDir: string,
  state: { nspawn?: ChildProcess; leader?: number; exited?: Promise<number | null> },
  log: (line: string) => void,
): Promise<void> {
  for (const hierarchy of CGROUP_HIERARCHIES) mkdirSync(join(hierarchy, name), { recursive: true });
  const console = openSync(join(workDir, "console.log"), "a");
  const joinCgroup = CGROUP_HIERARCHIES.map((h) => `echo $$ > ${h}/${name}/cgroup.procs`).join("; ");
  const nspawn = spawn(
    "sh",
    [
      "-c",
      `${joinCgroup}; exec systemd-nspawn --quiet --boot --directory=${root} --machine=${name} --register=no --keep-unit --private-network --console=read-only`,
    ],
    { stdio: ["ignore", console, console] },
  );
  closeSync(console);
  state.nspawn = nspawn;
  state.leader = undefined;
  state.exited = new Promise((resolve) => nspawn.once("exit", (code) => resolve(code)));
  const started = Date.now();
  const leader = await waitFor(
    () => childOf(nspawn.pid!),
    20_000,
    () => `nspawn of ${name} started no init (console: ${consoleTail(workDir)})`,
  );
  state.leader = leader;
  await waitFor(
    async () => {
      if (nspawn.exitCode !== null) throw new Error(`nspawn of ${name} exited with ${nspawn.exitCode} while booting (console: ${consoleTail(workDir)})`);
      const r = await runProcess(["nsenter", "-t", String(leader), "-m", "-u", "-i", "-n", "-p", "--", "systemctl", "is-system-running"], {});
      const status = r.out.trim();
      if (status === "degraded") {
        const failed = await runProcess(["nsenter", "-t", String(leader), "-m", "-p", "--", "systemctl", "--failed", "--no-legend"], {});
        throw new Error(`container ${name} booted degraded: ${failed.out.trim()}`);
      }
      return status === "running" ? true : undefined;
    },
    60_000,
    () => `container ${name} was not running after 60 s (console: ${consoleTail(workDir)})`,
  );
  log(`container ${name} running after ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function childOf(pid: number): number | undefined {
  try {
    const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/));
    const child = children.find((c) => c !== "");
    return child === undefined ? undefined : Number(child);
  } catch {
    return undefined;
  }
}

function consoleTail(workDir: string): string {
  try {
    return readFileSync(join(workDir, "console.log"), "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(none)";
  }
}

function removeCgroups(name: string): void {
  for (const hierarchy of CGROUP_HIERARCHIES) {
    const top = join(hierarchy, name);
    if (!existsSync(top)) continue;
    // Depth first: a cgroup is removed with rmdir once it has no children.
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
      try {
        rmdirSync(dir);
      } catch {}
    };
    walk(top);
  }
}

export function runProcess(argv: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = argv;
    const child = spawn(command!, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
    const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), out, err });
    });
  });
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number, message: () => string): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(message());
    await sleep(100);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let hooked = false;
function registerExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const cleanup of live) cleanup();
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      for (const cleanup of live) cleanup();
      process.kill(process.pid, signal);
    });
  }
}

/** Writes a file into the container's root with an owner (numeric, from the container's own passwd). */
export function writeInto(root: string, path: string, content: string, mode = 0o644): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), content, { mode });
}
