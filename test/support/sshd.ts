// A real OpenSSH server for integration tests: Debian's /usr/sbin/sshd on 127.0.0.1 at a free port,
// with its own host key, a client key made for the test, and everything in one temp folder.
// stop() kills it by PID and removes the folder; a process exit does the same for any left running.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./net.js";
import { stopProcess, trackProcess, type StopSignals } from "./started-processes.js";

export { freePort, startSilentServer, type SilentServer } from "./net.js";

const SSHD = "/usr/sbin/sshd";
const TEST_USER = "gen-test";
/** An administrator whose sudo asks for a password (test/support/password-sudo.ts gives it one for a test). */
const ADMIN_USER = "gen-admin";
const run = promisify(execFile);

export interface SshdOptions {
  /** Login user: root (PermitRootLogin yes), or the unprivileged `gen-test` or `gen-admin` made by `npm run test:full`. */
  user?: "root" | typeof TEST_USER | typeof ADMIN_USER;
  /** Extra sshd_config lines. */
  config?: string[];
  /**
   * Let bash source the login user's ~/.bashrc for each command, as a real server does. Off by default: this
   * image's root .bashrc runs `pyenv init` (0.5 s per exec request); tests assert behaviour, the bench keeps it on.
   */
  loginShellRc?: boolean;
  /**
   * This port instead of a free one: for a network namespace of the caller's own, where nothing else listens (the
   * bench's latency mode delays this port's packets only).
   */
  port?: number;
}

export interface SshdHandle {
  host: "127.0.0.1";
  port: number;
  user: string;
  pid: number;
  tempDir: string;
  /** A folder standing in for the server's `/`, owned by the login user. */
  rootDir: string;
  hostKeyPath: string;
  /** "ssh-ed25519 AAAA..." (no comment). */
  hostPublicKey: string;
  /** As `ssh-keygen -lf` prints it: "SHA256:...". */
  hostFingerprint: string;
  /** Private key accepted for `user` (unencrypted ed25519). */
  clientKeyPath: string;
  /** Holds the host key as `[127.0.0.1]:port ssh-ed25519 ...`. */
  knownHostsPath: string;
  logPath: string;
  stop(): Promise<void>;
}

/** sshd stops on SIGTERM; SIGKILL when it has not within 3 s, and at exit. */
const SSHD_SIGNALS: StopSignals = { stop: "SIGTERM", force: "SIGKILL", graceMs: 3000 };

export async function startSshd(options: SshdOptions = {}): Promise<SshdHandle> {
  const user = options.user ?? "root";
  if (user !== "root") await requireUser(user);
  // sshd's privilege separation directory; absent in containers until the service first ran.
  await mkdir("/run/sshd", { recursive: true });
  const tempDir = await mkdtemp(join(tmpdir(), "gen-sshd-"));
  try {
    // bash skips ~/.bashrc for commands sshd starts when SHLVL says the shell is nested.
    const rc = options.loginShellRc === true ? [] : ["SetEnv SHLVL=1"];
    return await startIn(tempDir, user, [...rc, ...(options.config ?? [])], options.port);
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(tempDir: string, user: string, extraConfig: string[], fixedPort: number | undefined): Promise<SshdHandle> {
  // The login user reads authorized_keys from here, so the folder cannot stay 0700.
  await chmod(tempDir, 0o755);
  const hostKeyPath = join(tempDir, "ssh_host_ed25519_key");
  const clientKeyPath = join(tempDir, "client_ed25519_key");
  await Promise.all([makeKey(hostKeyPath, "gen-test-host"), makeKey(clientKeyPath, "gen-test-client")]);
  const authorizedKeys = join(tempDir, "authorized_keys");
  await copyFile(`${clientKeyPath}.pub`, authorizedKeys);
  await chmod(authorizedKeys, 0o644);
  const rootDir = join(tempDir, "root");
  await mkdir(rootDir, { mode: 0o755 });
  if (user !== "root") await chownToUser(rootDir, user);
  const hostPublicKey = (await readFile(`${hostKeyPath}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
  const hostFingerprint = (await run("ssh-keygen", ["-l", "-f", `${hostKeyPath}.pub`])).stdout.split(" ")[1] ?? "";
  const logPath = join(tempDir, "sshd.log");
  const { child, port } = await spawnOnPort(tempDir, logPath, extraConfig, fixedPort);
  const knownHostsPath = join(tempDir, "known_hosts");
  await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
  const pid = child.pid!;
  return {
    host: "127.0.0.1",
    port,
    user,
    pid,
    tempDir,
    rootDir,
    hostKeyPath,
    hostPublicKey,
    hostFingerprint,
    clientKeyPath,
    knownHostsPath,
    logPath,
    stop: () => stopSshd(child, tempDir),
  };
}

// freePort() closes its port before sshd binds it; another process may take it in between, so retry (not a fixed port).
async function spawnOnPort(tempDir: string, logPath: string, extraConfig: string[], fixedPort: number | undefined) {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const configPath = join(tempDir, "sshd_config");
    await writeFile(configPath, sshdConfig(tempDir, port, extraConfig));
    const child = spawnSshd(configPath, logPath, tempDir);
    try {
      await waitUntilListening(child, port, logPath);
      return { child, port };
    } catch (error) {
      await stopProcess(child, SSHD_SIGNALS);
      const log = await readFile(logPath, "utf8").catch(() => "");
      if (fixedPort === undefined && attempt < 3 && /Address already in use/.test(log)) continue;
      throw error;
    }
  }
}

function sshdConfig(tempDir: string, port: number, extra: string[]): string {
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(tempDir, "ssh_host_ed25519_key")}`,
    `PidFile ${join(tempDir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(tempDir, "authorized_keys")}`,
    "StrictModes no",
    "PermitRootLogin yes",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    // With PAM off, sshd refuses accounts whose password is locked ("!"), as useradd leaves gen-test.
    "UsePAM yes",
    "Subsystem sftp internal-sftp",
    "LogLevel VERBOSE",
    ...extra,
    "",
  ].join("\n");
}

function spawnSshd(configPath: string, logPath: string, tempDir: string): ChildProcess {
  const log = openSync(logPath, "a");
  try {
    // sshd re-executes itself and so needs its absolute path. -D: foreground, -e: log to stderr.
    const child = spawn(SSHD, ["-D", "-e", "-f", configPath], { stdio: ["ignore", "ignore", log] });
    // A failed spawn (no sshd binary) shows as an exit code below; without a listener it would crash the test.
    child.on("error", (error) => appendFileSync(logPath, `cannot start ${SSHD}: ${error.message}\n`));
    // Let a test process end even if it forgot stop(): the exit hook kills sshd.
    child.unref();
    trackProcess(child, SSHD_SIGNALS, tempDir);
    return child;
  } finally {
    closeSync(log);
  }
}

async function waitUntilListening(child: ChildProcess, port: number, logPath: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, "utf8").catch(() => "");
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) before listening on ${port}:\n${log}`);
    }
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s (log: ${logPath})`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function stopSshd(child: ChildProcess, tempDir: string): Promise<void> {
  await stopProcess(child, SSHD_SIGNALS);
  await rm(tempDir, { recursive: true, force: true });
}

async function makeKey(path: string, comment: string): Promise<void> {
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
}

async function requireUser(user: string): Promise<void> {
  const passwd = await readFile("/etc/passwd", "utf8");
  if (!passwd.split("\n").some((line) => line.startsWith(`${user}:`))) {
    throw new Error(`user ${user} missing: run \`npm run test:full\` (creates it)`);
  }
}

async function chownToUser(path: string, user: string): Promise<void> {
  const line = (await readFile("/etc/passwd", "utf8")).split("\n").find((l) => l.startsWith(`${user}:`));
  const [, , uid, gid] = line?.split(":") ?? [];
  await chown(path, Number(uid), Number(gid));
}

/** ssh_config lines: `target` (this machine's sshd on `targetPort`) reached through `jumpbox` (the sshd `jump`, as root). */
export function proxyJumpConfig(targetPort: number, jump: SshdHandle): string {
  return [
    "Host target",
    "  HostName 127.0.0.1",
    `  Port ${targetPort}`,
    "  ProxyJump jumpbox",
    "Host jumpbox",
    "  HostName 127.0.0.1",
    `  Port ${jump.port}`,
    "  User root",
    `  IdentityFile ${jump.clientKeyPath}`,
    "",
  ].join("\n");
}
