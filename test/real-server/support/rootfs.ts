// The root filesystem of the real-server tier: Debian 12 with systemd, OpenSSH, sudo, nginx, PostgreSQL, Redis and
// the Python stack of the test application, all from Debian's packages (there is no PyPI here). Built once with
// mmdebstrap (about a minute) into a cache folder keyed by everything that goes into it, and reused read-only as the
// lower layer of each container's overlay.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const ROOTFS_PACKAGES = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "iproute2",
  "procps",
  "openssh-server",
  "sudo",
  "nginx",
  "postgresql",
  "redis-server",
  "python3",
  "python3-venv",
  "git",
  "logrotate",
  "curl",
  "ca-certificates",
  "openssl",
  "python3-django",
  "gunicorn",
  // The `celery` command is in Debian's celery package, not python3-celery.
  "celery",
  "python3-redis",
  "python3-psycopg2",
  "python3-poetry",
];

/** Raised when the build changes in a way the package list does not show. */
const BUILD_VERSION = "1";

const CACHE = process.env.GEN_REAL_SERVER_CACHE ?? "/var/cache/gen-real-server";

/** The host tools this tier needs, each with the Debian package that has it (scripts/test-full.sh installs them). */
const HOST_TOOLS: [string, string][] = [
  ["/usr/bin/systemd-nspawn", "systemd-container"],
  ["/usr/bin/mmdebstrap", "mmdebstrap"],
  ["/usr/bin/nsenter", "util-linux"],
];

export function missingHostTools(): string[] {
  return HOST_TOOLS.filter(([path]) => !existsSync(path)).map(([path, pkg]) => `${path} (Debian package ${pkg})`);
}

/** The machine's own apt sources: the mirror is read at run time, never written into the repository. */
function aptSources(): string[] {
  const dir = "/etc/apt/sources.list.d";
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith(".sources") || name.endsWith(".list"))
        .map((name) => join(dir, name))
    : [];
  return ["/etc/apt/sources.list", ...files].filter((path) => existsSync(path) && /^\s*(deb|Types:)/m.test(readFileSync(path, "utf8")));
}

/** The cached root filesystem, built first when missing. Throws with what to install when a host tool is missing. */
export async function ensureRootfs(log: (line: string) => void = () => {}): Promise<string> {
  const missing = missingHostTools();
  if (missing.length > 0) throw new Error(`the real-server tier needs ${missing.join(", ")}: run npm run test:full, which installs them`);
  const sources = aptSources();
  if (sources.length === 0) throw new Error("no apt sources in /etc/apt/sources.list or /etc/apt/sources.list.d: mmdebstrap needs a Debian mirror");
  const key = createHash("sha256")
    .update(JSON.stringify({ BUILD_VERSION, ROOTFS_PACKAGES, sources: sources.map((path) => readFileSync(path, "utf8")) }))
    .digest("hex")
    .slice(0, 16);
  const base = join(CACHE, `rootfs-${key}`);
  const done = `${base}.complete`;
  if (existsSync(done)) return base;
  await mkdir(CACHE, { recursive: true, mode: 0o700 });
  const lock = join(CACHE, "build.lock");
  await takeBuildLock(lock);
  try {
    if (existsSync(done)) return base;
    const building = `${base}.building`;
    await rm(building, { recursive: true, force: true });
    log(`building the real-server root filesystem with mmdebstrap (about a minute): ${base}`);
    await run("mmdebstrap", ["--quiet", "--variant=minbase", `--include=${ROOTFS_PACKAGES.join(",")}`, "bookworm", building, ...sources], {
      maxBuffer: 64 * 1024 * 1024,
    });
    await rm(base, { recursive: true, force: true });
    await rename(building, base);
    await run("touch", [done]);
    return base;
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

/** One build at a time; a lock older than 15 minutes was left by a killed build. */
async function takeBuildLock(lock: string): Promise<void> {
  for (;;) {
    try {
      await mkdir(lock);
      return;
    } catch {
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 15 * 60_000) await rmdir(lock).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}
