// Debian's nginx, really running, with sites installed beside Debian's own default site: a throw-away copy of
// /etc/nginx (sites-enabled holding only `default`, as the package leaves it) in one temp folder, with every path
// nginx writes (pid, logs, temp folders) and the letsencrypt stand-ins inside that folder, and every listen on
// port 80/443 moved to free ports on 127.0.0.1 (IPv6 listens dropped). The folder is removed and nginx is stopped
// by its PID in a finally; a process exit stops one left running.

import { spawn, type ChildProcess } from "node:child_process";
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { makeLetsencryptStandIns, rewriteHostPaths } from "../../../src/validate/tools/nginx-site.js";
import { findExecutable, isExecutableFile, isRoot, outputLines, runCommand } from "../../../src/validate/tools/tool-runner.js";
import { freePort } from "../../support/net.js";

export const NGINX = "/usr/sbin/nginx";
const DEBIAN_CONF = "/etc/nginx";
/** Debian's --prefix: relative `load_module modules/...` lines in modules-enabled resolve against it. */
const DEBIAN_PREFIX_MODULES = "/usr/share/nginx/modules";

/** A file to put under /etc/nginx/ (a rendered file, or a hand-made one): content, or a symlink target. */
export interface NginxFile {
  path: string;
  content: string;
  linkTarget?: string;
}

export interface HttpAnswer {
  status: number;
  location: string | undefined;
  body: string;
}

export interface RunningNginx {
  /** The loopback ports standing in for 80 and 443. */
  http: number;
  https: number;
  /** What `nginx -t -q` printed for this configuration, temp folder shown as <tmp>: empty means no [warn], no [emerg]. */
  configTest: string[];
  /** A plain HTTP GET to 127.0.0.1:<http> with this Host header. */
  get(host: string, path: string): Promise<HttpAnswer>;
}

/** Runs `work` against nginx serving Debian's configuration plus `files`; always stops nginx and removes the folder. */
export async function withDebianNginx<T>(files: NginxFile[], certificateDomains: string[], work: (nginx: RunningNginx) => Promise<T>): Promise<T> {
  const openssl = await requireTools();
  const dir = await mkdtemp(join(tmpdir(), "gen-nginx-it-"));
  let nginx: ChildProcess | undefined;
  try {
    const configs = await buildConfiguration(dir, files);
    await mkdir(join(dir, "le"), { recursive: true });
    await makeLetsencryptStandIns(openssl, join(dir, "le"), certificateDomains, dir, {});
    const started = await startOnFreePorts(dir, configs);
    nginx = started.child;
    return await work({ ...started.ports, configTest: started.configTest, get: (host, path) => httpGet(started.ports.http, host, path) });
  } finally {
    if (nginx !== undefined) await stopNginx(nginx);
    await rm(dir, { recursive: true, force: true });
  }
}

async function requireTools(): Promise<string> {
  if (!(await isExecutableFile(NGINX))) throw new Error(`${NGINX} not found: this test needs Debian's nginx (apt-get install nginx)`);
  const missing: string[] = [];
  for (const name of ["nginx.conf", "mime.types", "sites-available/default"]) {
    if (!(await lstat(join(DEBIAN_CONF, name)).catch(() => undefined))) missing.push(name);
  }
  if (missing.length > 0)
    throw new Error(`Debian's nginx configuration is incomplete, missing ${missing.map((n) => join(DEBIAN_CONF, n)).join(", ")}: reinstall nginx-common`);
  const openssl = await findExecutable("openssl", process.env);
  if (openssl === undefined) throw new Error("openssl not found on PATH (needed for the letsencrypt stand-ins): apt-get install openssl");
  return openssl;
}

/**
 * Copies /etc/nginx into <dir>/etc/nginx with host paths pointed into <dir>, enables only Debian's default site,
 * installs `files`; returns each config file's text (listens still on 80/443) by its path in the copy.
 */
async function buildConfiguration(dir: string, files: NginxFile[]): Promise<Map<string, string>> {
  const conf = join(dir, "etc/nginx");
  await cp(DEBIAN_CONF, conf, { recursive: true, verbatimSymlinks: true, filter: (source) => source !== join(DEBIAN_CONF, "sites-enabled") });
  await Promise.all([mkdir(join(conf, "sites-enabled")), mkdir(join(dir, "run")), mkdir(join(dir, "logs")), mkdir(join(dir, "tmp"))]);
  await symlink(join(DEBIAN_CONF, "sites-available/default"), join(conf, "sites-enabled/default"));
  await symlink(DEBIAN_PREFIX_MODULES, join(dir, "modules"));
  for (const file of files) {
    if (!file.path.startsWith(`${DEBIAN_CONF}/`)) throw new Error(`${file.path} is not under ${DEBIAN_CONF}/`);
    const copy = join(dir, file.path);
    await mkdir(dirname(copy), { recursive: true });
    if (file.linkTarget !== undefined) await symlink(file.linkTarget, copy);
    else await writeFile(copy, file.content);
  }
  const configs = new Map<string, string>();
  for (const entry of await readdir(conf, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) await repointLink(path, dir);
    else if (entry.isFile()) configs.set(path, rewritePaths(await readFile(path, "utf8"), dir, path === join(conf, "nginx.conf")));
  }
  return configs;
}

/** A link into /etc/nginx/ points at the copy instead; others (Debian's module snippets) stay, they are only read. */
async function repointLink(path: string, dir: string): Promise<void> {
  const target = await readlink(path);
  if (!target.startsWith(`${DEBIAN_CONF}/`)) return;
  await rm(path);
  await symlink(join(dir, target), path);
}

/** Host paths into <dir>, line numbers kept. In nginx.conf also: pid, user, and the compiled-in temp paths. */
function rewritePaths(text: string, dir: string, mainConfig: boolean): string {
  const rewritten = rewriteHostPaths(text, dir).split(`${DEBIAN_CONF}/`).join(`${dir}${DEBIAN_CONF}/`);
  if (!mainConfig) return rewritten;
  // Debian's temp paths are compiled in (/var/lib/nginx/...); `user www-data` as root would chown them, and as
  // a plain user it only earns a [warn].
  const tempPaths = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => ` ${kind}_temp_path ${dir}/tmp/${kind};`).join("");
  return rewritten
    .replace(/^(\s*pid\s+)\/[^\s;]+/m, `$1${dir}/run/nginx.pid`)
    .replace(/^(\s*)user\s+[^;]+;/m, isRoot() ? "$1user root;" : "$1# user: not root")
    .replace(/^(\s*http\s*\{)/m, `$1${tempPaths}`);
}

/** listen 80/443 -> 127.0.0.1:<port>, [::]: listens dropped; refuses a config that would listen anywhere else. */
function rewriteListens(text: string, path: string, ports: { http: number; https: number }): string {
  const rewritten = text
    .replace(/^(\s*)listen\s+\[::\]:(?:80|443)\b[^;]*;/gm, "$1# IPv6 listen dropped: the test listens on 127.0.0.1 only")
    .replace(
      /^(\s*listen\s+)(?:(?:0\.0\.0\.0|\*):)?(80|443)(?=[\s;])/gm,
      (_m, head: string, port: string) => `${head}127.0.0.1:${port === "80" ? ports.http : ports.https}`,
    );
  const elsewhere = rewritten.split("\n").find((line) => /^\s*listen\s/.test(line) && !/^\s*listen\s+127\.0\.0\.1:\d+[\s;]/.test(line));
  if (elsewhere !== undefined) throw new Error(`${path}: a listen the test cannot move to 127.0.0.1: ${elsewhere.trim()}`);
  return rewritten;
}

interface Started {
  child: ChildProcess;
  ports: { http: number; https: number };
  configTest: string[];
}

// freePort() closes its port before nginx binds it; another process may take it in between, so retry.
async function startOnFreePorts(dir: string, configs: Map<string, string>): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const ports = { http: await freePort(), https: await freePort() };
    await Promise.all([...configs].map(([path, text]) => writeFile(path, rewriteListens(text, path, ports))));
    const configTest = await testConfiguration(dir);
    const nginx = spawnNginx(dir);
    try {
      await waitUntilListening(nginx, ports.http, configTest);
      return { child: nginx.child, ports, configTest };
    } catch (error) {
      await stopNginx(nginx.child);
      if (attempt < 3 && /Address already in use/.test(String(error))) continue;
      throw error;
    }
  }
}

function nginxArgs(dir: string): string[] {
  return ["-p", `${dir}/`, "-c", join(dir, "etc/nginx/nginx.conf"), "-e", "stderr"];
}

async function testConfiguration(dir: string): Promise<string[]> {
  const output = await runCommand(NGINX, ["-t", "-q", ...nginxArgs(dir)], { env: { ...process.env, LC_ALL: "C" }, timeoutMs: 10_000 });
  const lines = outputLines(output.stderr + output.stdout, [[dir, "<tmp>"]]);
  if (output.exitCode !== 0 && lines.length === 0) lines.push(`nginx -t ended with ${output.failure ?? `status ${output.exitCode}`}`);
  return lines;
}

const running = new Set<ChildProcess>();

interface NginxProcess {
  child: ChildProcess;
  /** What nginx printed so far (startup [emerg] lines go to stderr), temp folder shown as <tmp>. */
  stderr(): string;
}

function spawnNginx(dir: string): NginxProcess {
  registerExitCleanup();
  // daemon off: the spawned process is the master, so its PID is ours to stop.
  const child = spawn(NGINX, [...nginxArgs(dir), "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
  running.add(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.on("error", (error) => (stderr += `cannot start ${NGINX}: ${error.message}\n`));
  return { child, stderr: () => stderr.split(dir).join("<tmp>") };
}

async function waitUntilListening({ child, stderr }: NginxProcess, port: number, configTest: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  const explain = () => `stderr: ${stderr().trim() || "(empty)"}\nnginx -t: ${configTest.join("\n") || "(clean)"}`;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}) before listening on 127.0.0.1:${port}\n${explain()}`);
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s\n${explain()}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** SIGQUIT (graceful: the master reaps its workers), then SIGTERM, then SIGKILL; resolves once the master exited. */
async function stopNginx(child: ChildProcess): Promise<void> {
  running.delete(child);
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => child.exitCode === null && child.signalCode === null && process.kill(pid, name);
  signal("SIGQUIT");
  const timers = [setTimeout(() => signal("SIGTERM"), 5000), setTimeout(() => signal("SIGKILL"), 10_000)];
  await exited;
  timers.forEach(clearTimeout);
}

let exitCleanupRegistered = false;

function registerExitCleanup(): void {
  if (exitCleanupRegistered) return;
  exitCleanupRegistered = true;
  // SIGTERM, not SIGKILL: the master then stops its workers too.
  process.on("exit", () => {
    for (const child of running) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGTERM");
  });
}

function httpGet(port: number, host: string, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers: { Host: host }, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} (Host: ${host}) on 127.0.0.1:${port}: no answer within 5 s`)));
    req.on("error", reject);
    req.end();
  });
}
