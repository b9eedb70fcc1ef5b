// The loopback server of the bench: a real sshd (the test harness) over a fake root, the environment `bench`
// (the resolved prod environment pointed at it), and the gen and ssh command lines run against it.
// stop() stops the sshd by PID and removes its temp folder.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { chmod, lstat, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadEnvironment, type LoadedEnvironment } from "../src/load/load-environment.js";
import { mergeDefinitions } from "../src/load/merge.js";
import { packageRoot } from "../src/paths.js";
import { renderEnvironment } from "../src/render/render-environment.js";
import type { RenderedFile } from "../src/types.js";
import { startSshd, type SshdHandle } from "../test/support/sshd.js";
import { expectExit, runTimed, type ProcessResult } from "./measure.js";

const execFileAsync = promisify(execFile);

export const BUNDLE = join(packageRoot, "dist", "bundle", "main.js");
export const SECRETS = { TSOSI_DB_PASSWORD: "bench-db-password-1", TSOSI_SECRET_KEY: "bench-secret-key-0123456789" };
/** GEN_REPORT_EXEC: gen prints how many exec requests it made (the bench shows them next to each time). */
export const genEnv: NodeJS.ProcessEnv = { ...process.env, ...SECRETS, NO_COLOR: "1", GEN_REPORT_EXEC: "1" };

/** Files apply's preflight requires on the server (units gen does not write, the certificates nginx names). */
export const PREFLIGHT_STUBS = [
  "lib/systemd/system/nginx.service",
  "lib/systemd/system/redis-server.service",
  "etc/letsencrypt/live/tsosi.org/fullchain.pem",
  "etc/letsencrypt/live/tsosi.org/privkey.pem",
  "etc/letsencrypt/options-ssl-nginx.conf",
  "etc/letsencrypt/ssl-dhparams.pem",
];

/** `gen show --json` prints these derived settings, but the schema refuses them as input (reported). */
const DERIVED_SETTINGS = ["TSOSI_CELERY_BROKER_URL", "TSOSI_REDIS_HOST", "TSOSI_REDIS_PORT", "TSOSI_REDIS_DB"];

export interface ExtraFiles {
  count: number;
  /** Approximate size of each rendered file. */
  bytes: number;
}

export interface BenchServer {
  sshd: SshdHandle;
  envDir: string;
  /** The rendered files of the environment as last written. */
  files: RenderedFile[];
  loaded: LoadedEnvironment;
  /**
   * With `upTo`, only the first `upTo` extra files use bench-extra.njk; the others keep the template last written
   * in full (or are left out): apply then changes at most a batch of files (see applyInBatches).
   */
  writeEnvironment(extra?: ExtraFiles, upTo?: number): Promise<void>;
  /** Fields merged into the environment from now on (objects field by field): the release rows' settings. */
  overrides: Record<string, unknown>;
  gen(args: string[]): Promise<ProcessResult>;
  /** `gen <command> bench` untimed, its standard output (a --json document). */
  genOutput(args: string[]): Promise<string>;
  /** `gen <command> bench` with the connection flags, wrapped in /usr/bin/time: ms and peak RSS in KB. */
  genWithRss(args: string[]): Promise<{ ms: number; rssKb: number }>;
  /**
   * The floor: one OpenSSH connection that cats every managed file under the root (links excepted). `kex`: the key
   * exchange to use (gen's ssh2 negotiates curve25519-sha256; OpenSSH's default here, sntrup761x25519-sha512, costs
   * about 100 ms more of client CPU per connection). `then`: a shell command the same session runs after the cat.
   */
  sshCat(kex?: string, then?: string): Promise<number>;
  /** Untimed: gives every managed file other content (the link becomes a plain file). */
  changeEverything(run: number): Promise<void>;
  /**
   * Untimed: writes the extra files (the environment's own, root's, 0644 by default) under the root as apply would,
   * without gen: applying thousands of new files through gen only to set up a diff takes minutes on a loaded machine.
   */
  seedExtraFiles(): Promise<void>;
  /** Untimed: puts the rendered content back (as apply left it), without gen. */
  restoreEverything(): Promise<void>;
  stop(): Promise<void>;
}

/** What OpenSSH's ssh and scp (the floors) need for the bench's sshd: its key and known_hosts, never a prompt. */
export function openSshClientOptions(sshd: SshdHandle): string[] {
  return ["-i", sshd.clientKeyPath, "-o", `UserKnownHostsFile=${sshd.knownHostsPath}`, "-o", "BatchMode=yes"];
}

export function showProd(): Record<string, unknown> {
  const text = execFileSync("node", [BUNDLE, "show", "prod", "--json"], { env: genEnv, cwd: packageRoot, encoding: "utf8" });
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * `loginShellRc` false: bash skips root's ~/.bashrc for the commands sshd starts. This machine's runs `pyenv init`
 * (about 0.5 s per exec request, gen's and the floor's alike); the plain rows show a server without it.
 */
export async function startBenchServer(
  prod: Record<string, unknown>,
  options: { loginShellRc: boolean; port?: number } = { loginShellRc: true },
): Promise<BenchServer> {
  const sshd = await startSshd({ user: "root", loginShellRc: options.loginShellRc, ...(options.port !== undefined ? { port: options.port } : {}) });
  try {
    return await prepare(sshd, prod);
  } catch (error) {
    await sshd.stop();
    throw error;
  }
}

async function prepare(sshd: SshdHandle, prod: Record<string, unknown>): Promise<BenchServer> {
  const envDir = join(sshd.tempDir, "environments");
  const systemctl = join(sshd.tempDir, "systemctl");
  await mkdir(envDir);
  await writeFile(systemctl, `#!/bin/sh\nprintf '%s\\n' "systemctl $*" >> '${sshd.tempDir}/systemctl.log'\nexit 0\n`);
  await chmod(systemctl, 0o755);
  for (const stub of PREFLIGHT_STUBS) {
    await mkdir(dirname(join(sshd.rootDir, stub)), { recursive: true });
    await writeFile(join(sshd.rootDir, stub), "# bench stub\n");
  }
  const connect = ["--environments", envDir, "--known-hosts", sshd.knownHostsPath, "--identity", sshd.clientKeyPath];
  const under = (path: string) => join(sshd.rootDir, path);
  // A link's target is a server path, dangling under the root; gen reads only the link itself.
  const catted = () => server.files.filter((f) => f.kind !== "symlink");
  let previousTemplate: string | undefined;
  const server: BenchServer = {
    sshd,
    envDir,
    files: [],
    overrides: {},
    loaded: undefined as unknown as LoadedEnvironment,
    async writeEnvironment(extra, upTo) {
      const template = extra ? extraTemplate(extra.bytes) : undefined;
      const base = benchEnvironment(prod, sshd, systemctl, extra && { ...extra, upTo: upTo ?? extra.count, previous: previousTemplate !== undefined });
      const env = mergeDefinitions(base, server.overrides);
      await writeFile(join(envDir, "bench.json"), JSON.stringify(env, null, 2));
      if (template) await writeFile(join(envDir, "bench-extra.njk"), template);
      if (previousTemplate !== undefined) await writeFile(join(envDir, "bench-extra-previous.njk"), previousTemplate);
      if (upTo === undefined) previousTemplate = template;
      // gen runs with packageRoot as its working folder: the headers name the environment file relative to it.
      server.loaded = await loadEnvironment("bench", { environmentsDir: envDir, processEnv: genEnv, projectRoot: packageRoot });
      const { environment, secrets, environmentsDir, source } = server.loaded;
      server.files = renderEnvironment({ name: "bench", environment, secrets: secrets.lookup, environmentsDir, source }).files;
    },
    gen: ([command, ...rest]) => runTimed("node", [BUNDLE, command!, "bench", ...connect, ...rest], { env: genEnv, cwd: packageRoot }),
    genOutput: async ([command, ...rest]) =>
      (await execFileAsync("node", [BUNDLE, command!, "bench", ...connect, ...rest], { env: genEnv, cwd: packageRoot, maxBuffer: 64 << 20 })).stdout,
    async genWithRss([command, ...rest]) {
      const out = join(sshd.tempDir, "time.out");
      const result = await runTimed("/usr/bin/time", ["-f", "%M", "-o", out, "node", BUNDLE, command!, "bench", ...connect, ...rest], {
        env: genEnv,
        cwd: packageRoot,
      });
      const ms = expectExit(result, 0, `gen ${command} bench (under /usr/bin/time)`);
      const rssKb = Number((await readFile(out, "utf8")).trim().split("\n").pop());
      return { ms, rssKb };
    },
    async sshCat(kex, then) {
      const args = [
        ...openSshClientOptions(sshd),
        ...(kex ? ["-o", `KexAlgorithms=${kex}`] : []),
        "-p",
        String(sshd.port),
        "root@127.0.0.1",
        "cat",
        ...catted().map((f) => under(f.path)),
        ...(then ? [";", then] : []),
      ];
      return expectExit(await runTimed("ssh", args), 0, "ssh cat floor");
    },
    async changeEverything(run) {
      await Promise.all(
        server.files.map(async (file) => {
          const path = under(file.path);
          if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) await rm(path);
          await writeFile(path, `# changed by the bench, run ${run}\n${file.content}`);
        }),
      );
    },
    async seedExtraFiles() {
      for (const file of server.files.filter((f) => f.path.startsWith("/etc/gen-bench/"))) {
        await mkdir(dirname(under(file.path)), { recursive: true });
        await writeFile(under(file.path), file.content, { mode: Number.parseInt(file.mode, 8) });
      }
    },
    async restoreEverything() {
      await Promise.all(
        server.files.map(async (file) => {
          const path = under(file.path);
          if (file.kind !== "symlink") return writeFile(path, file.content);
          await rm(path, { force: true });
          await symlink(file.linkTarget!, path);
        }),
      );
    },
    stop: () => sshd.stop(),
  };
  return server;
}

export interface ExtraSpec extends ExtraFiles {
  upTo: number;
  /** Whether bench-extra-previous.njk exists for the files past `upTo`. */
  previous: boolean;
}

export function benchEnvironment(prod: Record<string, unknown>, sshd: SshdHandle, systemctl: string, extra: ExtraSpec | undefined): Record<string, unknown> {
  // biome-ignore lint/suspicious/noExplicitAny: a loose copy of an environment file, edited by key
  const env = structuredClone(prod) as Record<string, any>;
  delete env.server.hosts;
  Object.assign(env.server, {
    host: "127.0.0.1",
    port: sshd.port,
    sshUser: "root",
    root: sshd.rootDir,
    useSudo: true,
    systemctl,
    nginxTest: ["/bin/true"],
    // There is no `deployer` account on this machine: apply cannot create the state folder owned by it.
    deployUser: "root",
    deployGroup: "root",
  });
  // logrotate's `su` was resolved to prod's deploy user, which logrotate -d refuses here for the same reason.
  if (env.logrotate) env.logrotate.su = { user: "root", group: "root" };
  for (const name of DERIVED_SETTINGS) delete env.django?.settings?.[name];
  if (extra) {
    const template = (i: number) => (i < extra.upTo ? "bench-extra.njk" : extra.previous ? "bench-extra-previous.njk" : undefined);
    env.files = Array.from({ length: extra.count }, (_, i) => ({ path: `/etc/gen-bench/f${i}.conf`, template: template(i), vars: { i } })).filter(
      (f) => f.template,
    );
  }
  return env;
}

/** About `bytes` per rendered file: 64-byte lines. */
function extraTemplate(bytes: number): string {
  const lines = Math.max(1, Math.round(bytes / 64) - 1);
  return `# gen bench extra file {{ i }}\n{% for n in range(0, ${lines}) %}\nline {{ n }} of file {{ i }}: ${"x".repeat(40)}\n{% endfor %}\n`;
}
