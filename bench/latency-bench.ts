// `npm run bench -- --rtt 0,20,100`: the latency rows at each round-trip time. For each level the bench runs itself
// again inside a namespace with that delay (latency.ts), which measures the rows (ssh-bench.ts benchLatencyRows)
// and writes them to a file; this prints each row's median at every level, its ratio to the fair floor at the same
// level, and the round trips it costs beyond the floor: the slope of its time over the RTT, less the floor's.
import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { latencyUnavailable, startLatencyNamespace } from "./latency.js";
import { progress, type Row } from "./measure.js";
import { textTable, writeResults } from "./report.js";

export interface LevelResult {
  rttMs: number;
  measuredRttMs: number;
  rows: Row[];
}

export async function benchLatency(levels: number[], options: { quick: boolean; releaseRowsOnly: boolean; out: string }): Promise<void> {
  const why = latencyUnavailable();
  if (why) {
    console.log(`latency mode skipped: ${why}`);
    return;
  }
  const results: LevelResult[] = [];
  for (const rttMs of levels) {
    const ns = await startLatencyNamespace(rttMs);
    const file = join(tmpdir(), `gen-bench-latency-${process.pid}-${rttMs}.json`);
    try {
      const argv = ns.wrap([
        process.execPath,
        process.argv[1]!,
        "--latency-level",
        String(rttMs),
        "--latency-out",
        file,
        ...(options.quick ? ["--quick"] : []),
        ...(options.releaseRowsOnly ? ["--release-rows"] : []),
      ]);
      await run(argv);
      const { rows } = JSON.parse(await readFile(file, "utf8")) as { rows: Row[] };
      results.push({ rttMs, measuredRttMs: ns.measuredRttMs, rows });
    } finally {
      await ns.stop();
      await rm(file, { force: true });
    }
  }
  console.log(formatLatencyTable(results));
  await writeResults(
    options.out,
    results.flatMap((r) => r.rows.map((row) => ({ ...row, name: `${row.name} @ ${r.rttMs} ms RTT` }))),
    { levels: results.map(({ rttMs, measuredRttMs }) => ({ rttMs, measuredRttMs })) },
  );
  progress(`wrote ${options.out}`);
}

function run(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(" ")} exited with ${code}`))));
  });
}

/** One line per row: median and × floor at each level, then round trips beyond the floor's (slope lowest→highest RTT). */
export function formatLatencyTable(levels: LevelResult[]): string {
  const names = levels[0]?.rows.map((r) => r.name) ?? [];
  const at = (level: LevelResult, name: string) => level.rows.find((r) => r.name === name);
  const first = levels[0]!;
  const last = levels.at(-1)!;
  const span = last.measuredRttMs - first.measuredRttMs;
  const header = ["row", ...levels.map((l) => `${l.rttMs} ms RTT (${l.measuredRttMs.toFixed(0)})`), "round trips", "beyond floor", "batches"];
  const lines = names.map((name) => {
    const cells = levels.map((level) => {
      const row = at(level, name);
      if (!row) return "";
      return `${(row.medianMs / 1000).toFixed(2)} s${row.ratio === undefined ? "" : ` ${row.ratio.toFixed(2)}×`}`;
    });
    const rowFirst = at(first, name);
    const rowLast = at(last, name);
    const floorName = rowLast?.baseline;
    const slope = rowFirst && rowLast && span > 0 ? (rowLast.medianMs - rowFirst.medianMs) / span : undefined;
    const floorFirst = floorName ? at(first, floorName) : undefined;
    const floorLast = floorName ? at(last, floorName) : undefined;
    const floorSlope = floorFirst && floorLast && span > 0 ? (floorLast.medianMs - floorFirst.medianMs) / span : undefined;
    return [
      name,
      ...cells,
      slope === undefined ? "" : slope.toFixed(1),
      slope === undefined || floorSlope === undefined ? "" : `${slope - floorSlope >= 0 ? "+" : ""}${(slope - floorSlope).toFixed(1)}`,
      rowLast?.batches === undefined ? "" : String(rowLast.batches),
    ];
  });
  return [
    ...textTable(header, lines),
    "",
    "× is the ratio to the fair floor at the same RTT (one `ssh cat` of the same files with gen's key exchange,",
    "curve25519-sha256); round trips = the slope of the median over the measured RTT; beyond floor = that less the floor's;",
    "batches = the step batches gen sent (GEN_REPORT_EXEC=1): its round trips after connecting, whatever the load.",
  ].join("\n");
}
