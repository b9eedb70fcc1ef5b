// The real-server tier's server: a booted container (container.ts) provisioned as the README's "Before the first
// apply" asks (provision.ts), the sample application (sample-app/, a Django project on Debian's packages) checked
// out in a project folder on this machine with its bare repository inside the container, an environment that
// extends preset:tsosi for it, and helpers to run gen's bin and to look at the server as an operator would.
import { execFile } from "node:child_process";
import { chownSync, cpSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { mergeDefinitions } from "../../../src/load/merge.js";
import { packageRoot } from "../../../src/paths.js";
import { genBin } from "../../support/run-bin.js";
import { testCacheHome } from "../../support/test-cache-home.js";
import { type Container, type RunResult, startContainer } from "./container.js";
import type { LoadSummary } from "./load-loop.js";
import { createDatabase, idsOf, makeClientKey, provisionServer } from "./provision.js";

export const REAL_SERVER = {
  accounts: { admin: "admin", deployUser: "deployer", domain: "tsosi.test" },
  database: { name: "tsosi", user: "tsosi_user", password: "real-server-db-password-5f1c" },
  secretKey: "real-server-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
  envName: "real",
  /** Inside the container: the bare repository release.repository names. */
  repository: "/srv/git/app.git",
};

export interface RealServer {
  container: Container;
  /** The project folder on this machine: the sample app's checkout with environments/. */
  project: string;
  /** Runs gen's bin in the container's network namespace, from the project folder. */
  gen: (args: string[], options?: { env?: Record<string, string>; timeoutMs?: number }) => Promise<RunResult>;
  /** Writes environments/real.yaml: the base definition with `overrides` merged in (objects field by field). */
  writeEnv: (overrides?: Record<string, unknown>) => void;
  /** Commits every change of the checkout and pushes it to the container's bare repository; returns the hash. */
  commit: (title: string) => Promise<string>;
  /** An HTTP(S) request through nginx with a Host header: the status and body. */
  request: (path: string, options?: { host?: string; https?: boolean }) => Promise<{ status: number; body: string }>;
  /** `systemctl <args>` inside, as root. */
  systemctl: (...args: string[]) => Promise<RunResult>;
  /** The journal lines of a unit since the boot. */
  journal: (unit: string) => Promise<string>;
  /** Runs `work` while a request loop (load-loop.ts) goes through nginx; its summary once the requests under way ended. */
  underLoad: <T>(work: () => Promise<T>, options?: { rate?: number; longSeconds?: number; longEvery?: number }) => Promise<{ result: T; load: LoadSummary }>;
  stop: () => Promise<void>;
}

const git = promisify(execFile);

export function baseEnvironment(): Record<string, unknown> {
  const { accounts, database } = REAL_SERVER;
  return {
    extends: "preset:tsosi",
    description: "The real-server tier's container",
    server: { host: "127.0.0.1", sshUser: accounts.admin, deployUser: accounts.deployUser, connectTimeoutSeconds: 60 },
    app: {
      domain: accounts.domain,
      redirectDomains: [`www.${accounts.domain}`],
      extraAllowedHosts: ["127.0.0.1"],
      poetry: "/usr/bin/poetry",
      pythonVersion: "3.11",
    },
    gunicorn: { workers: 6 },
    postgres: { name: database.name, user: database.user, password: { secret: "REAL_DB_PASSWORD" } },
    django: { settings: { SECRET_KEY: { secret: "REAL_SECRET_KEY" } } },
    release: {
      repository: REAL_SERVER.repository,
      sshUser: accounts.deployUser,
      tasks: [
        ["/usr/bin/poetry", "run", "python3", "manage.py", "collectstatic", "--noinput"],
        ["/usr/bin/poetry", "run", "python3", "manage.py", "migrate", "--noinput"],
      ],
      migrations: ["/usr/bin/poetry", "run", "python3", "manage.py", "showmigrations", "--plan"],
      frontend: { build: [["node", "build.mjs"]] },
    },
  };
}

export async function startRealServer(log: (line: string) => void = () => {}): Promise<RealServer> {
  let clientKey = "";
  const container = await startContainer({
    log,
    provision: async (root, { workDir }) => {
      clientKey = await makeClientKey(workDir);
      await provisionServer(root, { ...REAL_SERVER.accounts, clientKey });
    },
  });
  try {
    return await prepare(container, clientKey);
  } catch (error) {
    await container.stop();
    throw error;
  }
}

async function prepare(container: Container, clientKey: string): Promise<RealServer> {
  await createDatabase(container, REAL_SERVER.database);
  const project = join(container.workDir, "project");
  cpSync(join(packageRoot, "sample-app"), project, { recursive: true, filter: (src) => !src.includes("/frontend/dist") });
  const envDir = join(project, "environments");
  mkdirSync(envDir, { recursive: true });
  writeFileSync(
    join(envDir, `${REAL_SERVER.envName}.secrets.env`),
    `REAL_DB_PASSWORD=${REAL_SERVER.database.password}\nREAL_SECRET_KEY=${REAL_SERVER.secretKey}\n`,
  );
  const knownHosts = join(container.workDir, "known_hosts");
  const hostKey = (await container.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])).out.trim().split(" ").slice(0, 2).join(" ");
  writeFileSync(knownHosts, `127.0.0.1 ${hostKey}\n`);
  // The bare repository is the deploy user's (it clones it): git on this machine, as root, is told it is safe (in a
  // global configuration of this test's own: git reads safe.directory only from protected configuration).
  const gitConfig = join(container.workDir, "gitconfig");
  writeFileSync(gitConfig, "[safe]\n\tdirectory = *\n[user]\n\tname = Real Server\n\temail = real@example.org\n");
  const gitIn = (...args: string[]) => git("git", args, { cwd: project, env: { ...process.env, GIT_CONFIG_GLOBAL: gitConfig } });
  await gitIn("init", "-q", "-b", "main");
  const bare = join(container.root, REAL_SERVER.repository);
  mkdirSync(join(bare, ".."), { recursive: true });
  await git("git", ["init", "-q", "--bare", "-b", "main", bare]);
  const deployer = idsOf(container.root, REAL_SERVER.accounts.deployUser);
  const commit = async (title: string) => {
    await gitIn("add", "-A");
    await gitIn("commit", "-q", "--allow-empty", "-m", title);
    await gitIn("push", "-q", bare, "HEAD:main");
    // The deploy user clones it: the repository is its own, as on a git server it can read.
    chownTree(bare, deployer.uid, deployer.gid);
    return (await gitIn("rev-parse", "HEAD")).stdout.trim();
  };
  const writeEnv = (overrides: Record<string, unknown> = {}) => {
    writeFileSync(join(envDir, `${REAL_SERVER.envName}.yaml`), stringify(mergeDefinitions(baseEnvironment(), overrides)));
  };
  writeEnv();
  const gen: RealServer["gen"] = (args, options = {}) =>
    container.inNet([process.execPath, genBin, ...args, "--environments", envDir, "--known-hosts", knownHosts, "--identity", clientKey], {
      cwd: project,
      env: { NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome(), SSH_AUTH_SOCK: "", ...options.env },
      timeoutMs: options.timeoutMs ?? 600_000,
    });
  const request: RealServer["request"] = (path, options = {}) =>
    requestInContainer(container, options.host ?? REAL_SERVER.accounts.domain, path, options.https ?? true);
  return {
    container,
    project,
    gen,
    writeEnv,
    commit,
    request,
    systemctl: (...args) => container.exec(["systemctl", ...args]),
    journal: async (unit) => (await container.exec(["journalctl", "-b", "--no-pager", "-o", "cat", "-u", unit])).out,
    underLoad: (work, options = {}) => underLoad(container, work, options),
    stop: () => container.stop(),
  };
}

async function underLoad<T>(
  container: Container,
  work: () => Promise<T>,
  options: { rate?: number; longSeconds?: number; longEvery?: number },
): Promise<{ result: T; load: LoadSummary }> {
  const loop = container.spawnInNet([
    process.execPath,
    join(packageRoot, "dist/test/real-server/support/load-loop.js"),
    REAL_SERVER.accounts.domain,
    String(options.rate ?? 25),
    String(options.longSeconds ?? 10),
    String(options.longEvery ?? 75),
  ]);
  let out = "";
  let err = "";
  loop.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  loop.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<void>((resolve) => loop.once("exit", () => resolve()));
  try {
    // Some requests before, and the long ones started before the work, are under way when it begins.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const result = await work();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    loop.kill("SIGTERM");
    await exited;
    if (!out.trim()) throw new Error(`the request loop printed no summary: ${err}`);
    return { result, load: JSON.parse(out) as LoadSummary };
  } finally {
    if (loop.exitCode === null) loop.kill("SIGKILL");
  }
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** An HTTP(S) request to the container's nginx from inside its network, `host` resolved to it: status and body. */
export async function requestInContainer(container: Container, host: string, path: string, https = true): Promise<{ status: number; body: string }> {
  const url = `${https ? "https" : "http"}://${host}${path}`;
  const r = await container.inNet([
    "curl",
    "-sk",
    "--max-time",
    "30",
    "--resolve",
    `${host}:${https ? 443 : 80}:127.0.0.1`,
    "-o",
    "-",
    "-w",
    "\n%{http_code}",
    url,
  ]);
  const at = r.out.lastIndexOf("\n");
  return { status: Number(r.out.slice(at + 1)) || 0, body: r.out.slice(0, at) };
}
