// The results as a table on the terminal and as dist/bench/results.json.
import { cpus } from "node:os";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import type { Row } from "./measure.js";

const ms = (n: number) => n.toFixed(1);

export function formatTable(rows: Row[]): string {
  const header = ["measurement", "runs", "median ms", "min ms", "max ms", "× baseline", "exec req", "peak RSS"];
  const lines = rows.map((r) => [
    r.name,
    String(r.runs),
    ms(r.medianMs),
    ms(r.minMs),
    ms(r.maxMs),
    r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`,
    r.execRequests === undefined ? "" : String(r.execRequests),
    r.peakRssMiB === undefined ? "" : `${r.peakRssMiB.toFixed(0)} MiB`,
  ]);
  const notes = rows
    .filter((r) => r.baseline || r.note)
    .map((r) => `  ${r.name}: ${[r.baseline ? `baseline = ${r.baseline}` : "", r.note ?? ""].filter(Boolean).join("; ")}`);
  return [...textTable(header, lines), "", "Notes:", ...notes].join("\n");
}

/** A header, a rule under it and the lines, in columns: the first left-aligned, the others right-aligned. */
export function textTable(header: string[], lines: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [format(header), format(widths.map((w) => "-".repeat(w))), ...lines.map(format)];
}

export function machineInfo(): Record<string, string | number> {
  const ssh = spawnSync("ssh", ["-V"], { encoding: "utf8" });
  const sshVersion = `${ssh.stdout ?? ""}${ssh.stderr ?? ""}`.trim();
  return {
    node: process.version,
    genNode: genNodeVersion(),
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? "not set for gen's runs",
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "",
    ssh: sshVersion,
  };
}

/** The version of the Node that runs gen in the bench: the first `node` on PATH (bench.ts --node puts one there). */
export function genNodeVersion(): string {
  const run = spawnSync("node", ["-v"], { encoding: "utf8" });
  return run.status === 0 ? `Node ${run.stdout.trim()}` : "no node on PATH";
}

export async function writeResults(path: string, rows: Row[], extra: Record<string, unknown>): Promise<void> {
  await writeFile(path, `${JSON.stringify({ machine: machineInfo(), ...extra, rows }, null, 2)}\n`);
}
