// A "server" for the end-to-end tests of gen deploy, releases and rollback: one real sshd (logging in as root)
// over a fake root, a sample application with its bare repository, a YAML environment pointing at both, and a
// systemctl stand-in that records every call. stop() stops the sshd by PID (through the harness) and removes
// every temp folder.
// The stand-ins start as the real services do after `systemctl restart`: Gunicorn (Type=notify) and Celery
// (Type=forking) may take a while to answer after the restart returned (startSeconds), and a release whose
// backend/ has BOOT_FAILS_FILE makes Gunicorn's unit fail a second after its restart, as gunicorn's arbiter
// exits 3 when a worker cannot import the application: `systemctl show` then says so, `systemctl status` prints
// the file as its journal, and connections to the socket wait unanswered in its backlog. A restart can be held
// (holdRestarts), for a test that acts while it is under way.

import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { startSshd, type SshdHandle } from "../../support/sshd.js";
import { createSampleApp, type SampleApp } from "./sample-app.js";
import { mergeDefinitions } from "../../../src/load/merge.js";
import { runGenBin, type GenRun } from "../../support/run-gen.js";
import type { Environment } from "../../../schema/index.js";
import { loadEnvironment } from "../../../src/load/load-environment.js";
import { openTransport } from "../../../src/transport/open-transport.js";
import type { Transport } from "../../../src/transport/transport.js";

export const ENV_NAME = "t";
export const STATE_DIR = "/var/lib/gen/tsosi";
export const RELEASES = "/var/www/releases";
export const CURRENT = "/var/www/current";
export const SETTINGS = "/home/gen-test/config/settings_local.py";
export const SOCKET = "/run/tsosi_gunicorn.sock";
/** A release whose backend/ holds this file gets its content (an HTTP status) from the Gunicorn stand-in. */
export const STATUS_FILE = "backend/stand-in-status";
/** A release whose backend/ holds this file fails to boot under Gunicorn; the file is the unit's journal. */
export const BOOT_FAILS_FILE = "backend/stand-in-boot-fails";
export const GUNICORN_UNIT = "tsosi_gunicorn";
export const CELERY_UNIT = "tsosi_celery";
/** A web host's service commands: Gunicorn restarts while its handover twin answers on the socket, nginx reloads. */
export const WEB_RESTARTS = ["start tsosi_gunicorn_handover", "restart tsosi_gunicorn", "stop tsosi_gunicorn_handover", "reload nginx"];
/** A worker host's: the worker restarts (systemd restarts beat with it), and beat is then only started. */
export const WORKER_RESTARTS = ["restart tsosi_celery", "start tsosi_celery_beat"];
export const RESTARTS = [...WEB_RESTARTS, ...WORKER_RESTARTS]; /** The front-end build of the sample app: 300 assets and an index, 301 files. */
export const FRONTEND_BUILD = [
  "sh",
  "-c",
  "mkdir -p dist/assets && for i in $(seq 1 300); do echo $i > dist/assets/f$i.js; done && echo '<html>' > dist/index.html",
];

export interface DeployServer {
  sshd: SshdHandle;
  app: SampleApp;
  envDir: string;
  /** The folder standing in for the server's "/". */
  root: string;
  /** A server path as a path on this machine. */
  file: (serverPath: string) => string;
  /** Writes environments/t.yaml: the base environment with `overrides` merged in (objects field by field). */
  writeEnv: (overrides?: Record<string, unknown>) => Promise<void>;
  /** runCli with --environments, --known-hosts and --identity of this server. */
  gen: (args: string[]) => Promise<GenRun>;
  /** The arguments gen() passes the bin (for a run in a terminal). */
  argv: (args: string[]) => string[];
  /** `gen deploy t --yes --repo <checkout> ...extra`. */
  deploy: (...extra: string[]) => Promise<GenRun>;
  /** The release `current` points at ("" when there is no link). */
  live: () => Promise<string>;
  /** The release folders on the server, sorted. */
  releases: () => Promise<string[]>;
  recorded: () => Promise<string[]>;
  /** The file the systemctl stand-in appends each call to (for a test that waits for one). */
  recorderLog: string;
  /** The systemctl calls made under the sshd with this PID. */
  recordedUnder: (sshdPid: number) => Promise<string[]>;
  clearRecorded: () => Promise<void>;
  /** Makes the systemctl stand-in fail (exit 1) when called with exactly these arguments; undefined: never. */
  failOn: (args: string | undefined) => Promise<void>;
  /** The read-only systemctl calls (show, status, is-active), recorded apart from the ones that change a unit. */
  queried: () => Promise<string[]>;
  /** From the next restart of `unit` on, it answers only `seconds` after the restart returned. */
  startSeconds: (unit: string, seconds: number) => Promise<void>;
  /** `unit` answers only in `seconds` from now, as during a restart that is under way. */
  restarting: (unit: string, seconds: number) => Promise<void>;
  /**
   * The next restarts of `unit` wait (at most a minute) until `release` is called: `held` is true while one waits, so
   * a test can act while a restart is under way.
   */
  holdRestarts: (unit: string) => { held: () => boolean; release: () => void };
  /** The requests the Gunicorn stand-in answered: "Host path status". */
  gunicornRequests: string[];
  stop: () => Promise<void>;
}

export async function startDeployServer(): Promise<DeployServer> {
  const tempDir = await mkdtemp(join(tmpdir(), "gen-deploy-"));
  let sshd: SshdHandle | undefined;
  try {
    sshd = await startSshd({ user: "root" });
    return await prepare(tempDir, sshd);
  } catch (error) {
    await sshd?.stop();
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

async function prepare(tempDir: string, sshd: SshdHandle): Promise<DeployServer> {
  const envDir = join(tempDir, "environments");
  const recorderLog = join(tempDir, "systemctl.log");
  const queryLog = join(tempDir, "systemctl-queries.log");
  const failFile = join(tempDir, "systemctl-fail-on");
  const systemctl = join(tempDir, "systemctl");
  const units = join(tempDir, "units");
  const root = sshd.rootDir;
  await mkdir(envDir);
  await mkdir(units);
  // The apply preflight looks for the units of server.systemServices.
  await mkdir(join(root, "lib/systemd/system"), { recursive: true });
  for (const unit of ["nginx.service", "redis-server.service"]) await writeFile(join(root, "lib/systemd/system", unit), "[Unit]\nDescription=stub\n");
  await writeFile(recorderLog, "");
  await writeFile(queryLog, "");
  await writeFile(systemctl, recorderScript(recorderLog, failFile, { queryLog, units, current: join(root, CURRENT) }));
  await chmod(systemctl, 0o755);
  await writeFile(join(envDir, `${ENV_NAME}.secrets.env`), "TEST_DB_PASSWORD=deploy-db-pass-3c5e\nTEST_SECRET_KEY=deploy-secret-key-91ab7f\n");
  const app = await createSampleApp(tempDir);
  const celery = join(tempDir, "celery");
  await writeFile(celery, celeryScript(units));
  await chmod(celery, 0o755);
  const gunicornRequests: string[] = [];
  const gunicorn = await startGunicornStandIn(join(root, SOCKET), join(root, CURRENT), units, gunicornRequests);
  const base = {
    server: {
      host: sshd.host,
      port: sshd.port,
      sshUser: "root",
      root,
      deployUser: "gen-test",
      deployGroup: "gen-test",
      useSudo: true,
      systemctl,
      nginxTest: ["/bin/true"],
      stateDir: STATE_DIR,
      // Far above a connect on a loaded machine: tests of the timeout itself set their own.
      connectTimeoutSeconds: 60,
    },
    app: { name: "tsosi", domain: "tsosi.localhost" },
    celery: { command: [celery] },
    // nginx, its static files and a certificate are checked by the tests that run a real nginx.
    checks: { skip: ["nginx", "static", "certificate"] },
    nginx: { tls: false },
    postgres: { name: "tsosi", user: "tsosi", password: { secret: "TEST_DB_PASSWORD" } },
    django: { settingsModule: "backend_site.settings", settings: { SECRET_KEY: { secret: "TEST_SECRET_KEY" } } },
    release: {
      repository: app.bare,
      keep: 3,
      // The release logs in as this user; root keeps sudo simple in tests.
      sshUser: "root",
      install: [["sh", "-c", "echo installed > installed.txt"]],
      tasks: [
        ["sh", "-c", "echo collectstatic >> tasks.log"],
        ["sh", "-c", "echo migrate >> tasks.log"],
      ],
      frontend: { build: [FRONTEND_BUILD] },
    },
  };
  const file = (serverPath: string) => join(root, serverPath);
  const argv = (args: string[]) => [...args, "--environments", envDir, "--known-hosts", sshd.knownHostsPath, "--identity", sshd.clientKeyPath];
  const gen = (args: string[]) => runGenBin(argv(args));
  const server: DeployServer = {
    sshd,
    app,
    envDir,
    root,
    file,
    writeEnv: (overrides = {}) => writeFile(join(envDir, `${ENV_NAME}.yaml`), stringify(mergeDefinitions(base, overrides))),
    gen,
    argv,
    deploy: (...extra) => gen(["deploy", ENV_NAME, "--yes", "--repo", app.checkout, ...extra]),
    live: async () => {
      const target = await readlink(file(CURRENT)).catch(() => "");
      return target.split("/").pop() ?? "";
    },
    recorderLog,
    releases: async () => (await readdir(file(RELEASES)).catch(() => [] as string[])).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort(),
    recorded: async () =>
      (await readFile(recorderLog, "utf8"))
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => l.slice(l.indexOf("|") + 1)),
    recordedUnder: async (pid) =>
      (await readFile(recorderLog, "utf8"))
        .split("\n")
        .filter((l) => l.split("|")[0]!.split(" ").includes(String(pid)))
        .map((l) => l.slice(l.indexOf("|") + 1)),
    clearRecorded: () => writeFile(recorderLog, ""),
    failOn: async (args) => (args === undefined ? rm(failFile, { force: true }) : writeFile(failFile, args)),
    queried: async () => (await readFile(queryLog, "utf8")).split("\n").filter((l) => l.length > 0),
    startSeconds: (unit, seconds) => writeFile(join(units, `${unit}.start-seconds`), String(seconds)),
    restarting: (unit, seconds) => writeFile(join(units, `${unit}.ready-at`), String(Date.now() + seconds * 1000)),
    holdRestarts: (unit) => {
      writeFileSync(join(units, `${unit}.hold`), "");
      rmSync(join(units, `${unit}.held`), { force: true });
      return {
        held: () => existsSync(join(units, `${unit}.held`)),
        release: () => rmSync(join(units, `${unit}.hold`), { force: true }),
      };
    },
    gunicornRequests,
    stop: async () => {
      gunicorn.closeAllConnections();
      await new Promise((resolve) => gunicorn.close(resolve));
      await sshd.stop();
      await rm(tempDir, { recursive: true, force: true });
    },
  };
  await server.writeEnv();
  return server;
}

/**
 * Gunicorn's stand-in: a real HTTP server on the unix socket nginx proxies to, answering 200, or the status that
 * the live release's backend/stand-in-status holds. Until the unit's ready-at time it closes every connection (a
 * restart under way: nginx answers 502); while the unit has failed to boot it leaves requests unanswered.
 */
async function startGunicornStandIn(socket: string, current: string, units: string, requests: string[]): Promise<Server> {
  await mkdir(join(socket, ".."), { recursive: true });
  const server = createServer((req, res) => {
    if (existsSync(join(units, `${GUNICORN_UNIT}.fails-at`))) return;
    void readFile(join(current, STATUS_FILE), "utf8")
      .then(
        (text) => Number(text.trim()),
        () => 200,
      )
      .then((status) => {
        requests.push(`${req.headers.host} ${req.url} ${status}`);
        res.writeHead(status, { "content-type": "text/plain" }).end(`stand-in ${status}\n`);
      });
  });
  server.on("connection", (connection) => {
    const readyAt = Number(readFileSafe(join(units, `${GUNICORN_UNIT}.ready-at`)) ?? 0);
    if (Date.now() < readyAt) connection.destroy();
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socket, resolve));
  return server;
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Celery's stand-in: `inspect ping --timeout T` answers pong once the worker is ready (its unit's ready-at time);
 * before that it waits T seconds and says that no node replied, with celery's exit status (EX_UNAVAILABLE, 69).
 */
function celeryScript(units: string): string {
  return `#!/bin/sh
t=1; prev=""
for a in "$@"; do [ "$prev" = "--timeout" ] && t=$a; prev=$a; done
ready=$(cat '${units}/${CELERY_UNIT}.ready-at' 2>/dev/null || echo 0)
if [ "$(date +%s%3N)" -lt "$ready" ]; then
  sleep "$t"
  echo 'Error: No nodes replied within time constraint' >&2
  exit 69
fi
echo '-> celery@test: OK'
echo '        pong'
`;
}

/**
 * The systemctl stand-in: appends "<ancestor pids>|<arguments>" to `log`, so that a test with several sshds can
 * tell which server ran it (the sshd's PID is among the ancestors). Read-only calls (show, status, is-active) go
 * to `queryLog` instead and are answered from the unit's state in `units` (see startGunicornStandIn, celeryScript).
 */
export function recorderScript(log: string, failFile: string, state: { queryLog: string; units: string; current: string }): string {
  const u = state.units;
  return `#!/bin/sh
now=$(date +%s%3N)
unit=""; for a in "$@"; do unit=$a; done
failed() { [ -f '${u}'/"$unit".fails-at ] && [ "$now" -ge "$(cat '${u}'/"$unit".fails-at)" ]; }
case "$1" in
show|status|is-active)
  printf '%s\\n' "$*" >> '${state.queryLog}'
  if failed; then
    active=failed; props='ActiveState=failed\\nSubState=failed\\nResult=exit-code\\nExecMainStatus=3'
  else
    active=active; props='ActiveState=active\\nSubState=running\\nResult=success\\nExecMainStatus=0'
  fi
  case "$1" in
  show) printf "$props\\n" ;;
  is-active) echo "$active" ;;
  status)
    printf '\\342\\227\\217 %s.service - stand-in\\n     Active: %s\\n\\n' "$unit" "$active"
    cat '${u}'/"$unit".journal 2>/dev/null ;;
  esac
  # As systemctl: show succeeds whatever the state; status and is-active exit 3 for a unit that is not active.
  [ "$1" = show ] || [ "$active" = active ] || exit 3
  exit 0 ;;
esac
pid=$$; chain=""
while [ "$pid" -gt 1 ]; do pid=$(sed 's/^.*) [A-Za-z] \\([0-9]*\\).*$/\\1/' /proc/$pid/stat); chain="$chain $pid"; done
printf '%s|%s\\n' "$chain" "$*" >> '${log}'
if [ -f '${failFile}' ] && [ "$*" = "$(cat '${failFile}')" ]; then
  echo "Job for $* failed (recorder)" >&2
  exit 1
fi
if [ "$1" = restart ] && [ -f '${u}'/"$unit".hold ]; then
  touch '${u}'/"$unit".held; i=0
  while [ -f '${u}'/"$unit".hold ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
  rm -f '${u}'/"$unit".held
fi
if [ "$1" = restart ]; then
  rm -f '${u}'/"$unit".fails-at '${u}'/"$unit".journal
  if [ -f '${u}'/"$unit".start-seconds ]; then echo $((now + $(cat '${u}'/"$unit".start-seconds) * 1000)) > '${u}'/"$unit".ready-at; fi
  if [ "$unit" = ${GUNICORN_UNIT} ] && [ -f '${state.current}/${BOOT_FAILS_FILE}' ]; then
    cp '${state.current}/${BOOT_FAILS_FILE}' '${u}'/"$unit".journal
    echo $((now + 1000)) > '${u}'/"$unit".fails-at
  fi
fi
exit 0
`;
}

/** Every entry under `dir` with its type and content (files by hash, links by target), for "nothing changed". */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const name of entries.sort()) {
    const path = join(dir, name);
    const info = await lstat(path);
    const mode = (info.mode & 0o7777).toString(8);
    if (info.isSymbolicLink()) result[name] = `link -> ${await readlink(path)}`;
    else if (info.isDirectory()) result[name] = `dir ${mode}`;
    else if (info.isSocket()) result[name] = `socket ${mode}`;
    else
      result[name] = `file ${mode} ${createHash("sha256")
        .update(await readFile(path))
        .digest("hex")}`;
  }
  return result;
}

/** The release id a deploy started now would get (UTC, to the second). */
export function releaseIdAt(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}

/** Release ids are per second: waits until a deploy started now gets an id after `last`. */
export async function afterRelease(last: string): Promise<void> {
  while (releaseIdAt(new Date()) <= last) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Starts a server, runs `test`, and stops the server whatever happened. */
export async function withDeployServer(test: (server: DeployServer) => Promise<void>): Promise<void> {
  const server = await startDeployServer();
  try {
    await test(server);
  } finally {
    await server.stop();
  }
}

/** The test environment, loaded, and a transport to the test server's host as root: for a stage run in this process. */
export async function openServerInProcess(server: DeployServer): Promise<{ env: Environment; transport: Transport }> {
  const env = (await loadEnvironment(ENV_NAME, { environmentsDir: server.envDir })).environment;
  const transport = await openTransport(env, env.server.hosts[0]!, {
    projectDir: server.envDir,
    envName: ENV_NAME,
    knownHostsPath: server.sshd.knownHostsPath,
    identityFile: server.sshd.clientKeyPath,
    sshUser: "root",
  });
  return { env, transport };
}
