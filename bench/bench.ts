// `npm run bench`: render, diff, apply and upload times next to baselines measured in the same run
// (node start-up, one OpenSSH connection, scp). Prints a table and writes dist/bench/results.json.
// Needs the build (dist/bundle/main.js), OpenSSH's sshd, ssh and scp, and root (the sshd harness logs in as root).
import { writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { genEnv, showProd, startBenchServer } from "./bench-server.js";
import { elapsedMs, progress, Results } from "./measure.js";
import { benchRender } from "./render-bench.js";
import { formatTable, genNodeVersion, machineInfo, writeResults } from "./report.js";
import { benchDiffApply, benchLatencyRows, benchPlainShell } from "./ssh-bench.js";
import { benchLatency } from "./latency-bench.js";
import { NAMESPACE_SSHD_PORT } from "./latency.js";
import { benchStartup } from "./startup-bench.js";
import { benchReleaseRows } from "./release-bench.js";
import { benchManyHosts } from "./many-hosts-bench.js";
import { benchServerWork, formatServerWork } from "./server-work-bench.js";
import { benchUpload } from "./upload-bench.js";

const quick = process.argv.includes("--quick");
/** --real-only: render and the real file set, without the +500 files rows and the upload rows (a few minutes). */
const realOnly = process.argv.includes("--real-only");
/** --scale-only: only the +1000 files (time) and +5000 files (peak RSS) diff rows, without render rows. */
const scaleOnly = process.argv.includes("--scale-only");
/** --rtt 0,20,100: the latency rows at each round-trip time (root; latency-bench.ts). */
const rtt = flagValue("--rtt");
/** --startup: what each piece of the start-up machinery buys (startup-bench.ts), alone. */
const startup = process.argv.includes("--startup");
/** --server-work: server CPU per host and programs started per command (root; server-work.ts), alone. */
const serverWork = process.argv.includes("--server-work");
/** --hosts 50: apply and diff to that many loopback hosts against the floor at the same concurrency, alone. */
const manyHosts = flagValue("--hosts");
/** --release-rows (with --rtt): only the release step's rows (deploy, rollback, check, doctor), not diff and apply. */
const releaseRowsOnly = process.argv.includes("--release-rows");
/**
 * --node /path/to/node: the Node that runs gen and the `node -e 0` baselines (its folder first on PATH, for this process
 * and every run it starts, the levels of --rtt included); default: the first node on PATH.
 */
const genNode = flagValue("--node");
/** --keep-ca-certs: gen and the `node` baselines keep NODE_EXTRA_CA_CERTS when it is set (dropExtraCaCerts). */
const keepCaCerts = process.argv.includes("--keep-ca-certs");
/** Internal: the run of one level of --rtt, inside its namespace; writes its rows to --latency-out. */
const latencyLevel = flagValue("--latency-level");
const RUNS = quick
  ? {
      render: { process: 5, inProcess: 10, cold: 1, warmups: 1 },
      ssh: { real: 3, applyChanged: 2, many: 2, large: 1, rss: 1, warmups: 1 },
      upload: { runs: 2, warmups: 1 },
    }
  : {
      render: { process: 25, inProcess: 100, cold: 3, warmups: 3 },
      ssh: { real: 15, applyChanged: 8, many: 9, large: 5, rss: 3, warmups: 2 },
      upload: { runs: 9, warmups: 2 },
    };

function flagValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function latencyLevelRun(out: string): Promise<void> {
  const results = new Results();
  // Inside the level's namespace, on the one port whose packets it delays.
  const plain = await startBenchServer(showProd(), { loginShellRc: false, port: NAMESPACE_SSHD_PORT });
  try {
    if (!releaseRowsOnly) await benchLatencyRows(results, plain, RUNS.ssh);
    await benchReleaseRows(results, plain, RUNS.ssh);
  } finally {
    await plain.stop();
  }
  await writeResults(out, results.rows(), { latencyLevel });
}

async function benchServerWorkAlone(out: string): Promise<void> {
  const server = await startBenchServer(showProd(), { loginShellRc: false });
  try {
    const rows = await benchServerWork(server, quick ? 3 : 9);
    if (typeof rows === "string") return console.log(rows);
    console.log(formatServerWork(rows));
    await writeFile(out, `${JSON.stringify({ machine: machineInfo(), rows }, null, 2)}\n`);
    progress(`wrote ${out}`);
  } finally {
    await server.stop();
  }
}

async function benchManyHostsAlone(count: number, out: string): Promise<void> {
  if (!Number.isInteger(count) || count < 1) throw new Error("--hosts takes a number of hosts: --hosts 50");
  const results = new Results();
  const concurrencies = [...new Set([5, 10, count].filter((c) => c <= count))];
  await benchManyHosts(results, showProd(), count, concurrencies, quick ? 2 : 5);
  console.log(formatTable(results.rows()));
  await writeResults(out, results.rows(), { hosts: count, quick });
  progress(`wrote ${out}`);
}

function useNode(path: string): void {
  const run = spawnSync(path, ["-v"], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`--node ${path}: cannot run it (${run.error?.message ?? run.stderr.trim()})`);
  process.env.PATH = `${dirname(path)}${delimiter}${process.env.PATH ?? ""}`;
  // gen's runs take their environment from genEnv, copied from process.env when bench-server.js was loaded.
  genEnv.PATH = process.env.PATH;
}

/**
 * Node 20 reads the file NODE_EXTRA_CA_CERTS names, and parses every root certificate it carries, before any
 * JavaScript runs (Node 22 does it on the first TLS connection). On a machine that sets it, as this one may, every
 * start of gen and of the `node -e 0` baseline pays for that, and a ratio to `node -e 0` looks better than it is.
 * gen opens no TLS connection, so its runs and the baselines are measured as on a machine without the variable.
 */
function dropExtraCaCerts(): void {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (file === undefined || keepCaCerts) return;
  delete process.env.NODE_EXTRA_CA_CERTS;
  delete genEnv.NODE_EXTRA_CA_CERTS;
  if (latencyLevel === undefined)
    progress(
      `NODE_EXTRA_CA_CERTS is set here (${file}). Node 20 parses it at every start, before any JavaScript: gen and the node baselines run without it, as on a machine that does not set it (--keep-ca-certs keeps it)`,
    );
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  dropExtraCaCerts();
  if (genNode !== undefined) useNode(genNode);
  if (latencyLevel === undefined) progress(`gen runs on ${genNodeVersion()} (the first node on PATH)`);
  if (latencyLevel !== undefined) return latencyLevelRun(flagValue("--latency-out")!);
  if (rtt !== undefined) {
    const levels = rtt.split(",").map(Number);
    if (levels.length < 2 || levels.some((l) => !Number.isFinite(l) || l < 0))
      throw new Error("--rtt takes two or more round-trip times in ms: --rtt 0,20,100");
    return benchLatency(levels, { quick, releaseRowsOnly, out: join(here, "latency-results.json") });
  }
  if (manyHosts !== undefined) return benchManyHostsAlone(Number(manyHosts), join(here, "hosts-results.json"));
  if (serverWork) return benchServerWorkAlone(join(here, "server-work-results.json"));
  const start = process.hrtime.bigint();
  const results = new Results();
  if (startup) {
    await benchStartup(results, quick ? { rounds: 5, warmups: 1 } : { rounds: 20, warmups: 2 });
    console.log(formatTable(results.rows()));
    return writeResults(join(here, "startup-results.json"), results.rows(), { quick });
  }
  if (!scaleOnly) await benchRender(results, RUNS.render);
  const server = await startBenchServer(showProd());
  try {
    await benchDiffApply(results, server, RUNS.ssh, { realOnly, scaleOnly });
    if (!realOnly && !scaleOnly) await benchUpload(results, server, RUNS.upload);
  } finally {
    await server.stop();
  }
  if (!scaleOnly) {
    const plain = await startBenchServer(showProd(), { loginShellRc: false });
    try {
      await benchPlainShell(results, plain, RUNS.ssh);
    } finally {
      await plain.stop();
    }
  }
  const rows = results.rows();
  const totalSeconds = elapsedMs(start) / 1000;
  console.log(formatTable(rows));
  console.log(`\nbench took ${totalSeconds.toFixed(0)} s`);
  const out = join(here, "results.json");
  await writeResults(out, rows, { totalSeconds, quick, realOnly, scaleOnly });
  progress(`wrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
