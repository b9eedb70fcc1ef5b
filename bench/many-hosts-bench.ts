// `npm run bench -- --hosts 50`: gen apply --yes to many loopback hosts (each its own sshd and root), every managed
// file changed on every host, against the fair floor at the same concurrency (one `ssh cat` of the same files per
// host, as many at once as gen's --concurrency), and gen diff likewise; at several concurrencies, so the default's
// cost is shown. One client key and one known_hosts file serve every host.
import { appendFile, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import pLimit from "p-limit";
import { loadEnvironment } from "../src/load/load-environment.js";
import { packageRoot } from "../src/paths.js";
import { renderEnvironment } from "../src/render/render-environment.js";
import type { RenderedFile } from "../src/types.js";
import { startSshd, type SshdHandle } from "../test/support/sshd.js";
import { BUNDLE, benchEnvironment, genEnv, PREFLIGHT_STUBS } from "./bench-server.js";
import { expectExit, measurePair, progress, type Results, runTimed, timeAsync } from "./measure.js";
import { applyPrograms, GEN_KEX } from "./ssh-bench.js";

interface Fleet {
  sshds: SshdHandle[];
  files: RenderedFile[];
  gen(args: string[]): ReturnType<typeof runTimed>;
  /**
   * Every host's `ssh cat`, `concurrency` at once: the floor's time for the fleet. `programs`: each session then runs
   * the programs an apply of its files runs on the server (ssh-bench.ts applyPrograms).
   */
  floor(concurrency: number, programs?: boolean): Promise<number>;
  changeEverything(run: number): Promise<void>;
  stop(): Promise<void>;
}

export async function benchManyHosts(results: Results, prod: Record<string, unknown>, count: number, concurrencies: number[], runs: number): Promise<void> {
  const fleet = await startFleet(prod, count);
  try {
    expectExit(await fleet.gen(["apply", "--yes", "--concurrency", String(count)]), 0, `gen apply --yes to ${count} hosts (setup)`);
    for (const concurrency of concurrencies) {
      const floor = `ssh cat floor, ${GEN_KEX}, ${count} hosts, ${concurrency} at once`;
      const common = { floor, runs, warmups: 1, floorRun: () => fleet.floor(concurrency) };
      const at = ["--concurrency", String(concurrency)];
      await measurePair(results, {
        ...common,
        name: `gen diff, ${count} hosts, --concurrency ${concurrency}, nothing differs`,
        measured: async () => expectExit(await fleet.gen(["diff", ...at]), 0, "gen diff (hosts)"),
      });
      await measurePair(results, {
        ...common,
        name: `gen apply --yes, ${count} hosts, --concurrency ${concurrency}, ${fleet.files.length} files changed on each`,
        prepare: (i) => fleet.changeEverything(i),
        measured: async () => expectExit(await fleet.gen(["apply", "--yes", ...at]), 0, "gen apply --yes (hosts)"),
      });
      // As for one host (ssh-bench.ts): Node's start, then every host's session running its apply's programs.
      await measurePair(results, {
        ...common,
        name: `bound for apply --yes, ${count} hosts, ${concurrency} at once: node -e 0, then each host's floor running its server programs`,
        measured: async () => expectExit(await runTimed("node", ["-e", "0"], { env: genEnv }), 0, "node -e 0") + (await fleet.floor(concurrency, true)),
      });
    }
  } finally {
    await fleet.stop();
  }
}

async function startFleet(prod: Record<string, unknown>, count: number): Promise<Fleet> {
  const sshds: SshdHandle[] = [];
  const stop = async () => {
    await Promise.all(sshds.map((s) => s.stop()));
  };
  try {
    const limit = pLimit(8);
    await Promise.all(Array.from({ length: count }, () => limit(async () => sshds.push(await startSshd({ user: "root", loginShellRc: false })))));
    progress(`${count} sshds started`);
    return await prepareFleet(prod, sshds, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function prepareFleet(prod: Record<string, unknown>, sshds: SshdHandle[], stop: () => Promise<void>): Promise<Fleet> {
  const first = sshds[0]!;
  const knownHosts = join(first.tempDir, "fleet_known_hosts");
  const clientKey = await readFile(`${first.clientKeyPath}.pub`, "utf8");
  await writeFile(knownHosts, sshds.map((s) => `[127.0.0.1]:${s.port} ${s.hostPublicKey}\n`).join(""));
  for (const sshd of sshds.slice(1)) await appendFile(join(sshd.tempDir, "authorized_keys"), clientKey);
  for (const sshd of sshds) {
    for (const stub of PREFLIGHT_STUBS) {
      await mkdir(dirname(join(sshd.rootDir, stub)), { recursive: true });
      await writeFile(join(sshd.rootDir, stub), "# bench stub\n");
    }
  }
  const systemctl = join(first.tempDir, "systemctl");
  await writeFile(systemctl, "#!/bin/sh\nexit 0\n");
  await chmod(systemctl, 0o755);
  const envDir = join(first.tempDir, "environments");
  await mkdir(envDir);
  // biome-ignore lint/suspicious/noExplicitAny: a loose copy of an environment file, edited by key
  const env = benchEnvironment(prod, first, systemctl, undefined) as Record<string, any>;
  for (const key of ["host", "port", "root"]) delete env.server[key];
  env.server.hosts = sshds.map((s, i) => ({ name: `h${i}`, host: "127.0.0.1", port: s.port, root: s.rootDir }));
  await writeFile(join(envDir, "bench.json"), JSON.stringify(env, null, 2));
  const loaded = await loadEnvironment("bench", { environmentsDir: envDir, processEnv: genEnv, projectRoot: packageRoot });
  const { environment, secrets, environmentsDir, source } = loaded;
  const files = renderEnvironment({ name: "bench", environment, secrets: secrets.lookup, environmentsDir, source }).files.filter((f) => f.kind !== "symlink");
  const connect = ["--environments", envDir, "--known-hosts", knownHosts, "--identity", first.clientKeyPath];
  const ssh = (sshd: SshdHandle, programs: boolean) => [
    // ssh keeps an option's first value: openSshClientOptions' known_hosts would win over the fleet's.
    "-i",
    first.clientKeyPath,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    `KexAlgorithms=${GEN_KEX}`,
    "-p",
    String(sshd.port),
    "root@127.0.0.1",
    "cat",
    ...files.map((f) => join(sshd.rootDir, f.path)),
    ...(programs ? [";", applyPrograms(files, sshd.rootDir, sshd.tempDir).script] : []),
  ];
  return {
    sshds,
    files,
    gen: ([command, ...rest]) => runTimed("node", [BUNDLE, command!, "bench", ...connect, ...rest], { env: genEnv, cwd: packageRoot }),
    floor: (concurrency, programs = false) => {
      const limit = pLimit(concurrency);
      return timeAsync(() => Promise.all(sshds.map((s) => limit(async () => expectExit(await runTimed("ssh", ssh(s, programs)), 0, "ssh cat floor (hosts)")))));
    },
    async changeEverything(run) {
      await Promise.all(sshds.flatMap((s) => files.map((f) => writeFile(join(s.rootDir, f.path), `# changed by the bench, run ${run}\n${f.content}`))));
    },
    stop,
  };
}
