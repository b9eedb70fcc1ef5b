// A real PostgreSQL for integration tests: Debian's postgresql binaries (the newest major version installed), a cluster made by initdb in a temp
// folder owned by the `postgres` user (initdb refuses root), listening on 127.0.0.1 at a free port with its unix
// socket in the folder. Roles log in with SCRAM-SHA-256 or md5 (password_encryption per role); optionally SSL with
// a throwaway self-signed certificate. stop() ends the postmaster by PID (fast shutdown) and removes the folder;
// a process exit does the same for any left running.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.js";
import { stopProcess, trackProcess, type StopSignals } from "./started-processes.js";
import { selfSignedCertificateArgs } from "../../src/validate/tools/nginx-site.js";

const VERSIONS = "/usr/lib/postgresql";
const OWNER = "postgres";

export interface PostgresRole {
  name: string;
  password: string;
  /** How its password is stored, and so how pg_hba.conf lets it in. */
  method: "scram-sha-256" | "md5";
  /** A hostssl line instead of a host line: it may log in only over SSL. */
  sslOnly?: boolean;
}

export interface PostgresOptions {
  roles: PostgresRole[];
  databases: string[];
  /** pg_hba.conf lines before the roles' own, so they win ("host all gen_gss 127.0.0.1/32 gss"). */
  hba?: string[];
  ssl?: boolean;
}

export interface PostgresHandle {
  host: "127.0.0.1";
  port: number;
  pid: number;
  tempDir: string;
  logPath: string;
  stop(): Promise<void>;
}

/** SIGINT is PostgreSQL's fast shutdown (ends the sessions, then exits); SIGQUIT, immediate, if it hangs and at exit. */
const POSTGRES_SIGNALS: StopSignals = { stop: "SIGINT", force: "SIGQUIT", graceMs: 20_000 };

/** The folder of initdb, pg_ctl, postgres and psql of the newest major version installed. */
function binaries(): string {
  const majors = existsSync(VERSIONS) ? readdirSync(VERSIONS).filter((v) => /^\d+$/.test(v) && existsSync(join(VERSIONS, v, "bin/initdb"))) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server in ${VERSIONS}/<version>/bin: install the Debian package postgresql (npm run test:full does)`);
  return join(VERSIONS, majors.sort((a, b) => Number(b) - Number(a))[0]!, "bin");
}

export async function startPostgres(options: PostgresOptions): Promise<PostgresHandle> {
  const bin = binaries();
  const owner = account(OWNER);
  const tempDir = await mkdtemp(join(tmpdir(), "gen-pg-"));
  const data = join(tempDir, "data");
  const logPath = join(tempDir, "postgres.log");
  let child: ChildProcess | undefined;
  try {
    await chown(tempDir, owner.uid, owner.gid);
    const asOwner: SpawnSyncOptions = {
      uid: owner.uid,
      gid: owner.gid,
      cwd: tempDir,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
    };
    must(spawnSync(`${bin}/initdb`, ["-D", data, "-U", OWNER, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-sync"], asOwner), "initdb");
    await writeFile(join(data, "pg_hba.conf"), hba(options));
    const settings = ["listen_addresses = '127.0.0.1'", `unix_socket_directories = '${tempDir}'`, "fsync = off"];
    if (options.ssl) settings.push(...(await certificate(tempDir, owner, asOwner)));
    await writeFile(join(data, "postgresql.auto.conf"), `${settings.join("\n")}\n`);
    await chown(join(data, "pg_hba.conf"), owner.uid, owner.gid);
    await chown(join(data, "postgresql.auto.conf"), owner.uid, owner.gid);
    const port = await freePort();
    child = startPostmaster(`${bin}/postgres`, data, port, logPath, owner);
    const pid = child.pid!;
    const psql = (sql: string) =>
      spawnSync(`${bin}/psql`, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", tempDir, "-p", String(port), "-U", OWNER, "-d", "postgres", "-c", sql], asOwner);
    await waitUntilReady(child, () => psql("SELECT 1").status === 0, logPath);
    for (const role of options.roles) {
      must(
        psql(`SET password_encryption = '${role.method}'; CREATE ROLE ${role.name} LOGIN PASSWORD '${role.password.replace(/'/g, "''")}'`),
        `creating role ${role.name}`,
      );
    }
    for (const database of options.databases) must(psql(`CREATE DATABASE ${database}`), `creating database ${database}`);
    const stopping = child;
    return { host: "127.0.0.1", port, pid, tempDir, logPath, stop: () => stopPostgres(stopping, tempDir) };
  } catch (error) {
    if (child) await stopProcess(child, POSTGRES_SIGNALS);
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

function hba(options: PostgresOptions): string {
  const roles = options.roles.map((r) => `${r.sslOnly ? "hostssl" : "host"} all ${r.name} 127.0.0.1/32 ${r.method}`);
  return ["local all all trust", ...(options.hba ?? []), ...roles, ""].join("\n");
}

/** A self-signed certificate for 127.0.0.1, readable by the cluster's owner only (postgres refuses a key others can read). */
async function certificate(tempDir: string, owner: { uid: number; gid: number }, asOwner: SpawnSyncOptions): Promise<string[]> {
  const dir = join(tempDir, "tls");
  await mkdir(dir);
  await chown(dir, owner.uid, owner.gid);
  const [key, cert] = [join(dir, "server.key"), join(dir, "server.crt")];
  must(
    spawnSync("openssl", selfSignedCertificateArgs({ commonName: "127.0.0.1", days: 2, keyOut: key, certOut: cert }), {
      ...asOwner,
      env: { ...asOwner.env, HOME: dir },
    }),
    "openssl req (Debian package openssl)",
  );
  await chmod(key, 0o600);
  return ["ssl = on", `ssl_cert_file = '${cert}'`, `ssl_key_file = '${key}'`];
}

function startPostmaster(postgres: string, data: string, port: number, logPath: string, owner: { uid: number; gid: number }): ChildProcess {
  const log = openSync(logPath, "a");
  try {
    const child = spawn(postgres, ["-D", data, "-p", String(port)], {
      uid: owner.uid,
      gid: owner.gid,
      cwd: data,
      stdio: ["ignore", log, log],
      env: { LANG: "C" },
    });
    child.on("error", () => undefined); // a missing binary shows as the exit waitUntilReady reports
    child.unref();
    trackProcess(child, POSTGRES_SIGNALS);
    return child;
  } finally {
    closeSync(log);
  }
}

async function waitUntilReady(child: ChildProcess, ready: () => boolean, logPath: string): Promise<void> {
  // Generous: a loaded machine may take long to start a cluster; this only bounds a broken one.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(
        `postgres exited (${child.exitCode ?? child.signalCode ?? "not started"}) before accepting connections:\n${await readFile(logPath, "utf8").catch(() => "")}`,
      );
    }
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`postgres did not accept connections within 60 s (log: ${logPath})`);
}

async function stopPostgres(child: ChildProcess, tempDir: string): Promise<void> {
  await stopProcess(child, POSTGRES_SIGNALS);
  await rm(tempDir, { recursive: true, force: true });
}

function account(name: string): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`user ${name} missing: install the Debian package postgresql (npm run test:full does)`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function must(result: ReturnType<typeof spawnSync>, what: string): void {
  if (result.error) throw new Error(`${what}: ${result.error.message} (Debian package postgresql: npm run test:full installs it)`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}): ${String(result.stdout)}${String(result.stderr)}`);
}
