// A "server" for the end-to-end tests of gen diff and gen apply: real sshd instances sharing one fake root,
// a YAML environment pointing at them, a recorder standing in for systemctl and nginx -t, and the shipped gen bin in a child process.
// stop() stops every sshd this fixture started (by PID, through the harness) and removes the temp folder.

import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { startSshd, type SshdHandle } from "../../support/sshd.js";
import { mergeDefinitions } from "../../../src/load/merge.js";
import { runGenBin, type GenRun } from "../../support/run-gen.js";

export const DB_PASSWORD = "old-db-pass-1f3a9c";
export const SECRET_KEY = "django-secret-key-7b2e4d90";
export const ENV_NAME = "t";

type User = "root" | "gen-test" | "gen-admin";

export interface GenServer {
  tempDir: string;
  envDir: string;
  /** The folder standing in for the server's "/" (shared by every sshd of the fixture). */
  root: string;
  sshds: SshdHandle[];
  /** The first sshd (the only one unless `hosts` was given). */
  sshd: SshdHandle;
  user: User;
  /** Where the systemctl and nginx-test stand-ins append one line per call. */
  recorderLog: string;
  /** A path on the fake server, as a path on this machine. */
  file: (serverPath: string) => string;
  /** Writes environments/t.yaml: the base environment with `overrides` merged in (objects field by field). */
  writeEnv: (overrides?: Record<string, unknown>) => Promise<void>;
  writeSecrets: (values: Record<string, string>) => Promise<void>;
  /** The gen bin with the environment, known_hosts and key of the first sshd unless args name their own. */
  gen: (args: string[], options?: GenOptions) => Promise<GenRun>;
  /** The arguments gen() passes the bin: args with the environments folder, known_hosts and key of the first sshd. */
  argv: (args: string[]) => string[];
  recorded: () => Promise<string[]>;
  clearRecorded: () => Promise<void>;
  /** Makes the systemctl stand-in fail (exit 1) when called with exactly these arguments; undefined: never. */
  failOn: (args: string | undefined, options?: { once?: boolean }) => Promise<void>;
  /** Makes `nginx -t` fail (true) or pass. */
  failNginxTest: (fail: boolean) => Promise<void>;
  /** When systemctl is called with these arguments, every sshd process of this fixture is killed mid-command. */
  killSshdOn: (args: string | undefined) => Promise<void>;
  /** When systemctl is called with these arguments, it runs `script` with sh first (as the login user). */
  runOn: (args: string | undefined, script?: string) => Promise<void>;
  /** Replaces the sshd at `index` by a new one on the same root (after it was stopped or killed). */
  restartSshd: (index?: number) => Promise<SshdHandle>;
  stop: () => Promise<void>;
}

export interface GenOptions {
  knownHosts?: string;
  identity?: string;
  timeoutMs?: number;
  /** Added to (or, when undefined, removed from) the bin's environment. */
  env?: Record<string, string | undefined>;
}

export interface GenServerOptions {
  user?: User;
  /** Start this many sshd instances (hosts a, b, c...), all on the same root. Default 1 (server.host). */
  hosts?: number;
  /**
   * A live release (/var/www/current -> releases/<id>, with its backend folder), as on a server that was deployed
   * to: apply restarts the application's units only then. Default true; false is a fresh server.
   */
  release?: boolean;
}

export async function startGenServer(options: GenServerOptions = {}): Promise<GenServer> {
  const user = options.user ?? "root";
  const tempDir = await mkdtemp(join(tmpdir(), "gen-it-"));
  // gen-test runs the stand-ins and writes the recorder log when it logs in without sudo.
  await chmod(tempDir, 0o755);
  const sshds: SshdHandle[] = [];
  try {
    for (let i = 0; i < (options.hosts ?? 1); i++) sshds.push(await startSshd({ user }));
    return await prepare(tempDir, user, sshds, options.hosts, options.release ?? true);
  } catch (error) {
    await Promise.all(sshds.map((s) => s.stop()));
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

async function prepare(tempDir: string, user: User, sshds: SshdHandle[], hosts: number | undefined, release: boolean): Promise<GenServer> {
  const envDir = join(tempDir, "environments");
  const root = join(tempDir, "root");
  const recorderLog = join(tempDir, "recorder.log");
  const control = (name: string) => join(tempDir, name);
  await mkdir(envDir);
  await mkdir(join(root, "lib/systemd/system"), { recursive: true });
  for (const unit of ["nginx.service", "redis-server.service"]) await writeFile(join(root, "lib/systemd/system", unit), "[Unit]\nDescription=stub\n");
  if (release) {
    await mkdir(join(root, "var/www/releases/20260101T000000Z/backend"), { recursive: true });
    await symlink("releases/20260101T000000Z", join(root, "var/www/current"));
  }
  await writeFile(recorderLog, "");
  await chmod(recorderLog, 0o666);
  if (user !== "root") await chownTree(root, user);
  await writeScript(control("systemctl"), systemctlScript(recorderLog, control));
  await writeScript(control("nginx-test"), nginxTestScript(recorderLog, control("nginx-fail")));
  await writeFile(control("sshd-pids"), "");

  let current: Record<string, unknown> = {};
  const server: GenServer = {
    tempDir,
    envDir,
    root,
    sshds,
    get sshd() {
      return sshds[0]!;
    },
    user,
    recorderLog,
    file: (serverPath) => join(root, serverPath),
    async writeEnv(overrides = {}) {
      current = overrides;
      const env = mergeDefinitions(baseEnvironment(server, hosts), overrides);
      await writeFile(join(envDir, `${ENV_NAME}.yaml`), stringify(env));
    },
    async writeSecrets(values) {
      await writeFile(
        join(envDir, `${ENV_NAME}.secrets.env`),
        Object.entries(values)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(""),
      );
    },
    gen: (args, o = {}) => gen(args, server, o),
    argv: (args) => genArgv(args, server, {}),
    recorded: async () => (await readFile(recorderLog, "utf8")).split("\n").filter((l) => l.length > 0),
    clearRecorded: () => writeFile(recorderLog, ""),
    failOn: async (args, options = {}) => {
      await setControl(control("fail-once"), options.once ? "once" : undefined);
      await setControl(control("fail-on"), args);
    },
    failNginxTest: (fail) => setControl(control("nginx-fail"), fail ? "fail" : undefined),
    async killSshdOn(args) {
      await writeFile(control("sshd-pids"), sshds.map((s) => `${s.pid}\n`).join(""));
      await setControl(control("kill-on"), args);
    },
    async runOn(args, script = "") {
      await writeFile(control("run-script"), script);
      await setControl(control("run-on"), args);
    },
    async restartSshd(index = 0) {
      await sshds[index]!.stop();
      sshds[index] = await startSshd({ user });
      // The environment names the port: write it again for the new sshd.
      await server.writeEnv(current);
      return sshds[index]!;
    },
    async stop() {
      await Promise.all(sshds.map((s) => s.stop()));
      await rm(tempDir, { recursive: true, force: true });
    },
  };
  await server.writeSecrets({ TEST_DB_PASSWORD: DB_PASSWORD, TEST_SECRET_KEY: SECRET_KEY });
  await server.writeEnv();
  return server;
}

function baseEnvironment(server: GenServer, hosts: number | undefined): Record<string, unknown> {
  const first = server.sshds[0]!;
  const target =
    hosts === undefined
      ? { host: first.host, port: first.port }
      : { hosts: server.sshds.map((s, i) => ({ name: String.fromCharCode(97 + i), host: s.host, port: s.port, roles: ["web", "worker"] })) };
  return {
    server: {
      ...target,
      sshUser: server.user,
      root: server.root,
      deployUser: "gen-test",
      deployGroup: "gen-test",
      useSudo: server.user === "root",
      systemctl: join(server.tempDir, "systemctl"),
      nginxTest: [join(server.tempDir, "nginx-test")],
      stateDir: "/var/lib/gen/tsosi",
      // Far above a connect on a loaded machine: tests of the timeout itself set their own.
      connectTimeoutSeconds: 60,
    },
    app: { name: "tsosi", domain: "tsosi.localhost" },
    nginx: { tls: false },
    postgres: { name: "tsosi", user: "tsosi", password: { secret: "TEST_DB_PASSWORD" } },
    // Two folders in the deploy user's home that the application writes into, as the reference's.
    django: {
      settings: { SECRET_KEY: { secret: "TEST_SECRET_KEY" } },
      folders: { TSOSI_ERROR_OUTPUT_FOLDER: "~/tsosi_errors", TSOSI_TO_INGEST_DIR: "~/tsosi_to_ingest" },
    },
  };
}

function genArgv(args: string[], server: GenServer, options: GenOptions): string[] {
  const connect = [
    "--environments",
    server.envDir,
    "--known-hosts",
    options.knownHosts ?? knownHostsFor(server),
    "--identity",
    options.identity ?? server.sshd.clientKeyPath,
  ];
  return [...args.slice(0, 2), ...connect, ...args.slice(2)];
}

async function gen(args: string[], server: GenServer, options: GenOptions): Promise<GenRun> {
  return runGenBin(genArgv(args, server, options), {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.env ? { env: options.env } : {}),
  });
}

/** One known_hosts file trusting every sshd of the fixture (the client key is the same file for all). */
function knownHostsFor(server: GenServer): string {
  return server.sshds.length === 1 ? server.sshd.knownHostsPath : join(server.tempDir, "known_hosts");
}

/** Needed before `gen` with several hosts: every sshd has its own host key and client key. */
export async function trustAllHosts(server: GenServer): Promise<void> {
  const lines = await Promise.all(server.sshds.map((s) => readFile(s.knownHostsPath, "utf8")));
  await writeFile(join(server.tempDir, "known_hosts"), lines.join(""));
  // Each sshd only accepts its own client key: make every one accept the first one's.
  const key = await readFile(`${server.sshd.clientKeyPath}.pub`, "utf8");
  for (const s of server.sshds) await writeFile(join(s.tempDir, "authorized_keys"), key);
}

function systemctlScript(log: string, control: (name: string) => string): string {
  return `#!/bin/sh
# Asking whether a unit runs changes nothing, and is not recorded: every unit runs.
[ "$1" = is-active ] && exit 0
printf '%s\\n' "systemctl $*" >> '${log}'
if [ -f '${control("kill-on")}' ] && [ "$*" = "$(cat '${control("kill-on")}')" ]; then
  # The listeners, then every sshd above this process: the connection of the running apply drops.
  for pid in $(cat '${control("sshd-pids")}'); do kill -9 "$pid" 2>/dev/null; done
  p=$$
  while [ "$p" -gt 1 ]; do
    case "$(cat /proc/$p/comm)" in sshd*) kill -9 "$p" 2>/dev/null ;; esac
    p=$(awk '{print $4}' /proc/$p/stat)
  done
  sleep 1
fi
if [ -f '${control("run-on")}' ] && [ "$*" = "$(cat '${control("run-on")}')" ]; then
  sh '${control("run-script")}'
fi
if [ -f '${control("fail-on")}' ] && [ "$*" = "$(cat '${control("fail-on")}')" ]; then
  echo "Job for $* failed (recorder)" >&2
  [ -f '${control("fail-once")}' ] && rm -f '${control("fail-on")}' '${control("fail-once")}'
  exit 1
fi
exit 0
`;
}

function nginxTestScript(log: string, failFlag: string): string {
  return `#!/bin/sh
printf '%s\\n' "nginx -t" >> '${log}'
if [ -f '${failFlag}' ]; then
  echo "nginx: [emerg] unexpected end of file (recorder)" >&2
  exit 1
fi
exit 0
`;
}

async function writeScript(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o755);
}

async function setControl(path: string, value: string | undefined): Promise<void> {
  if (value === undefined) await rm(path, { force: true });
  else await writeFile(path, value);
}

async function chownTree(path: string, user: string): Promise<void> {
  await promisify(execFile)("chown", ["-R", `${user}:${user}`, path]);
}
