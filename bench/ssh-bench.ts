// `gen diff` and `gen apply` against the loopback sshd, each next to one OpenSSH connection that cats the same
// files (the floor), for the real file set and with 500 extra files; peak RSS for unchanged small vs large files.
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quoteArg } from "../src/transport/shell-quote.js";
import type { RenderedFile } from "../src/types.js";
import { type BenchServer, type ExtraFiles, genEnv } from "./bench-server.js";
import { batchesOf, execRequestsOf, expectExit, measurePair, progress, type Results, runTimed } from "./measure.js";

export interface SshRuns {
  real: number;
  /** apply with every file changed is slow (visudo, systemd-analyze, python3 and logrotate checks run each time). */
  applyChanged: number;
  many: number;
  large: number;
  rss: number;
  warmups: number;
}

const EXTRA = 500;

/** The scale targets: diff of +1000 files against the floor, peak RSS of a diff of +5000 files. */
const SCALE = 1000;
const PEAK = 5000;

export async function benchDiffApply(
  results: Results,
  server: BenchServer,
  runs: SshRuns,
  options: { realOnly?: boolean; scaleOnly?: boolean } = {},
): Promise<void> {
  await server.writeEnvironment();
  await applyOnce(server);
  if (!options.scaleOnly) await benchRealSet(results, server, runs);
  if (options.realOnly) return;

  if (!options.scaleOnly) {
    await applyInBatches(server, { count: EXTRA, bytes: 1024 });
    await benchManyFiles(results, server, runs, "1 KB");
  }
  await benchScale(results, server, runs);
  if (options.scaleOnly) return;

  await applyInBatches(server, { count: EXTRA, bytes: 100 * 1024 });
  await benchLargeFiles(results, server, runs);
}

/** +1000 files × 1 KB: diff time against the floor of the same files; +5000: peak RSS of the diff. */
async function benchScale(results: Results, server: BenchServer, runs: SshRuns): Promise<void> {
  await seeded(server, SCALE);
  const floor = `ssh cat floor, +${SCALE} files × 1 KB (${catted(server)} files)`;
  const unchanged = `gen diff, +${SCALE} files × 1 KB, nothing differs`;
  await measurePair(results, {
    name: unchanged,
    floor,
    runs: runs.many,
    warmups: runs.warmups,
    floorRun: () => server.sshCat(),
    measured: gen(server, ["diff"], 0),
  });
  await measureRss(results, server, unchanged, runs.rss);
  await seeded(server, PEAK);
  // No floor: one `ssh cat` of 5000 paths passes the server's limit on a command's length.
  const peak = `gen diff, +${PEAK} files × 1 KB, nothing differs`;
  results.declare(peak, { note: "timed under /usr/bin/time, no floor (ssh cat of 5000 paths is too long a command)" });
  for (let i = 0; i < Math.max(runs.rss, 2); i++) {
    const { ms, rssKb } = await server.genWithRss(["diff"]);
    results.add(peak, ms);
    results.addRss(peak, rssKb);
  }
  progress(`${peak}: done`);
}

/** `count` extra files of 1 KB in the environment and on the server, written there without gen (see seedExtraFiles). */
async function seeded(server: BenchServer, count: number): Promise<void> {
  await server.writeEnvironment({ count, bytes: 1024 });
  await server.seedExtraFiles();
  expectExit(await server.gen(["diff"]), 0, `gen diff bench right after seeding ${count} extra files`);
}

/**
 * gen apply sends its staging script inside the SSH exec request (`sh -c <script>`): with ~200 changed files
 * under a long root it passes OpenSSH's packet limit and fails ("Unable to exec"), so the setup goes in batches.
 */
async function applyInBatches(server: BenchServer, extra: ExtraFiles, batch = 100): Promise<void> {
  for (let upTo = batch; upTo < extra.count; upTo += batch) {
    await server.writeEnvironment(extra, upTo);
    expectExit(await server.gen(["apply", "--yes"]), 0, `gen apply bench --yes (setup, ${upTo} extra files)`);
  }
  await server.writeEnvironment(extra);
  await applyOnce(server);
}

async function applyOnce(server: BenchServer): Promise<void> {
  expectExit(await server.gen(["apply", "--yes"]), 0, "gen apply bench --yes (setup)");
  expectExit(await server.gen(["diff"]), 0, "gen diff bench right after apply");
}

/** The real file set on a server whose login shell reads no ~/.bashrc: the same rows, named as such. */
export async function benchPlainShell(results: Results, server: BenchServer, runs: SshRuns): Promise<void> {
  await server.writeEnvironment();
  await applyOnce(server);
  await benchRealSet(results, server, runs, ", plain login shell");
}

async function benchRealSet(results: Results, server: BenchServer, runs: SshRuns, label = ""): Promise<void> {
  const floor = `ssh cat floor, real set${label} (${catted(server)} files)`;
  const common = { floor, runs: runs.real, warmups: runs.warmups, floorRun: () => server.sshCat() };
  await measurePair(results, { ...common, name: `gen diff, real set${label}, nothing differs`, measured: gen(server, ["diff"], 0) });
  await measurePair(results, {
    ...common,
    name: `gen diff, real set${label}, everything differs`,
    prepare: (i) => server.changeEverything(i),
    measured: gen(server, ["diff"], 2),
  });
  await measurePair(results, {
    ...common,
    name: `gen apply --yes, real set${label}, everything changed`,
    runs: runs.applyChanged,
    warmups: 1,
    note: "every file staged, checked, installed; daemon-reload, restarts and nginx reload go to stand-ins that exit 0",
    prepare: (i) => server.changeEverything(i),
    measured: gen(server, ["apply", "--yes"], 0),
  });
  await measurePair(results, { ...common, name: `gen apply --yes, real set${label}, nothing to do`, measured: gen(server, ["apply", "--yes"], 0) });
}

async function benchManyFiles(results: Results, server: BenchServer, runs: SshRuns, size: string): Promise<void> {
  const floor = `ssh cat floor, +${EXTRA} files × ${size} (${catted(server)} files)`;
  const common = { floor, runs: runs.many, warmups: runs.warmups, floorRun: () => server.sshCat() };
  const unchanged = `gen diff, +${EXTRA} files × ${size}, nothing differs`;
  await measurePair(results, { ...common, name: unchanged, measured: gen(server, ["diff"], 0) });
  await measureRss(results, server, unchanged, runs.rss);
  await measurePair(results, {
    ...common,
    name: `gen diff, +${EXTRA} files × ${size}, everything differs`,
    note: "each file gets one added first line",
    prepare: (i) => server.changeEverything(i),
    measured: gen(server, ["diff"], 2),
  });
  await server.restoreEverything();
  expectExit(await server.gen(["diff"]), 0, "gen diff bench after restoring the files");
}

async function benchLargeFiles(results: Results, server: BenchServer, runs: SshRuns): Promise<void> {
  const floor = `ssh cat floor, +${EXTRA} files × 100 KB (${catted(server)} files)`;
  const unchanged = `gen diff, +${EXTRA} files × 100 KB, nothing differs`;
  await measurePair(results, { name: unchanged, floor, runs: runs.large, warmups: 1, floorRun: () => server.sshCat(), measured: gen(server, ["diff"], 0) });
  await measureRss(results, server, unchanged, runs.rss);
}

/** Separate runs under /usr/bin/time -f %M: the peak RSS column is their median. */
async function measureRss(results: Results, server: BenchServer, name: string, runs: number): Promise<void> {
  for (let i = 0; i < runs; i++) results.addRss(name, (await server.genWithRss(["diff"])).rssKb);
  progress(`${name}: peak RSS done`);
}

function gen(server: BenchServer, args: string[], expected: number): () => Promise<{ ms: number; exec?: number; batches?: number }> {
  return async () => {
    const result = await server.gen(args);
    const [exec, batches] = [execRequestsOf(result), batchesOf(result)];
    return {
      ms: expectExit(result, expected, `gen ${args.join(" ")}`),
      ...(exec !== undefined ? { exec } : {}),
      ...(batches !== undefined ? { batches } : {}),
    };
  };
}

function catted(server: BenchServer): number {
  return server.files.filter((f) => f.kind !== "symlink").length;
}

/** gen's key exchange: the fair floor's. */
export const GEN_KEX = "curve25519-sha256";

/**
 * The rows of the latency mode, at one round-trip time (the caller runs this inside a namespace with that delay):
 * diff and apply of the real set against the fair floor (one `ssh cat` with gen's key exchange), and OpenSSH's
 * default key exchange against it.
 */
export async function benchLatencyRows(results: Results, server: BenchServer, runs: SshRuns): Promise<void> {
  await server.writeEnvironment();
  await applyOnce(server);
  const floor = `ssh cat floor, ${GEN_KEX} (${catted(server)} files)`;
  const common = { floor, runs: runs.real, warmups: runs.warmups, floorRun: () => server.sshCat(GEN_KEX) };
  await measurePair(results, { ...common, name: "ssh cat floor, OpenSSH's default key exchange", measured: () => server.sshCat() });
  await measurePair(results, { ...common, name: "gen diff, nothing differs", measured: gen(server, ["diff"], 0) });
  await measurePair(results, {
    ...common,
    name: `gen diff, ${catted(server)} files differ`,
    prepare: (i) => server.changeEverything(i),
    measured: gen(server, ["diff"], 2),
  });
  await measurePair(results, {
    ...common,
    name: `gen apply --yes, ${catted(server)} files changed`,
    runs: runs.applyChanged,
    prepare: (i) => server.changeEverything(i),
    measured: gen(server, ["apply", "--yes"], 0),
  });
  // The least that apply can take: gen cannot connect before Node has started, and the server cannot check the files
  // before the session is up. So: `node -e 0`, then the floor's session running, after its cat, the programs such an
  // apply runs on the server one after another (given no work; ssh's own start, about 7 ms, is counted too).
  const programs = applyPrograms(server.files, server.sshd.rootDir, server.sshd.tempDir);
  await measurePair(results, {
    ...common,
    name: `bound for that apply: node -e 0, then the floor running its ${programs.count} server programs`,
    measured: async () => expectExit(await runTimed("node", ["-e", "0"], { env: genEnv }), 0, "node -e 0") + (await server.sshCat(GEN_KEX, programs.script)),
  });
  // A plan reviewed and saved beforehand: after the read, the same one round trip as an interactive apply's after the
  // answer (lock, the read checked against the review's, install); a terminal's answer is not typed here.
  const plan = join(tmpdir(), `gen-bench-plan-${process.pid}.json`);
  await measurePair(results, {
    ...common,
    name: `gen apply --plan (a reviewed plan), ${catted(server)} files changed`,
    runs: runs.applyChanged,
    prepare: async (i) => {
      await server.changeEverything(i);
      expectExit(await server.gen(["diff", "--out", plan]), 2, "gen diff bench --out (the plan to apply)");
    },
    measured: gen(server, ["apply", "--yes", "--plan", plan], 0),
  });
  await rm(plan, { force: true });
  await measurePair(results, { ...common, name: "gen apply --yes, nothing to do", measured: gen(server, ["apply", "--yes"], 0) });
}

/**
 * The programs an apply of every file of `files` (under `rootDir`) must run on the server, one after another, given
 * no work, as its checks run them (check-staged.ts): systemd-analyze once for the units, visudo and logrotate once per
 * file; sudo (the session's), and the three python3 (probe, staging, install). The handlers, mv and rm are left out,
 * so the bound is low rather than high.
 */
export function applyPrograms(files: RenderedFile[], rootDir: string, scratchDir: string): { script: string; count: number } {
  const of = (kind: string) => files.filter((f) => f.kind === kind).map((f) => quoteArg(join(rootDir, f.path)));
  const status = quoteArg(join(scratchDir, "bound-logrotate.status"));
  const units = of("systemd-unit");
  const programs = [
    ...(units.length > 0 ? [`systemd-analyze verify --man=no ${units.join(" ")} >/dev/null 2>&1`] : []),
    ...of("sudoers").map((file) => `visudo -cf ${file} >/dev/null`),
    ...of("logrotate").map((file) => `logrotate -d -s ${status} ${file} >/dev/null 2>&1`),
    "sudo -n true",
    ...Array.from({ length: 3 }, () => "/usr/bin/python3 -I -S -c pass"),
  ];
  return { script: programs.join("; "), count: programs.length };
}
