// Timing primitives: a whole process timed with hrtime from spawn to exit, samples kept per measurement,
// and summaries (median, min, max, ratio of the median to the baseline's median measured in the same run).
import { spawn } from "node:child_process";

export interface ProcessResult {
  ms: number;
  code: number | null;
  stderr: string;
}

/** stdout goes to /dev/null (as the ssh floor's does); stderr is kept for error messages. */
export function runTimed(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ms = 0;
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], env: options.env ?? process.env, cwd: options.cwd });
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.once("error", reject);
    child.once("exit", () => (ms = elapsedMs(start)));
    child.once("close", (code) => resolve({ ms, code, stderr: Buffer.concat(chunks).toString("utf8") }));
  });
}

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return elapsedMs(start);
}

const EXEC_REPORT = /^gen: exec requests: (\d+)$/m;
const BATCH_REPORT = /^gen: step batches: (\d+)$/m;

/** The number of step batches (round trips of its sessions) a gen run reported on stderr (GEN_REPORT_EXEC=1), if it did. */
export function batchesOf(result: ProcessResult): number | undefined {
  const found = BATCH_REPORT.exec(result.stderr);
  return found ? Number(found[1]) : undefined;
}

/** The number of exec requests a gen run reported on stderr (GEN_REPORT_EXEC=1), if it did. */
export function execRequestsOf(result: ProcessResult): number | undefined {
  const found = EXEC_REPORT.exec(result.stderr);
  return found ? Number(found[1]) : undefined;
}

export function expectExit(result: ProcessResult, expected: number, what: string): number {
  if (result.code !== expected) {
    throw new Error(`${what}: exit ${result.code}, expected ${expected}\n${result.stderr.split("\n").slice(0, 30).join("\n")}`);
  }
  return result.ms;
}

export interface Row {
  name: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  baseline?: string;
  /** This median / the baseline's median. */
  ratio?: number;
  /** The median of the runs' peak RSS, in MiB (/usr/bin/time's %M is in KiB). */
  peakRssMiB?: number;
  /** Exec requests gen made per run (the most seen, if runs differ). */
  execRequests?: number;
  /** Step batches gen sent per run, its round trips after connecting (the most seen, if runs differ). */
  batches?: number;
  note?: string;
}

interface Measurement {
  samples: number[];
  baseline?: string;
  note?: string;
  rssKb: number[];
  exec: number[];
  batches: number[];
}

export class Results {
  private readonly measurements = new Map<string, Measurement>();

  /** Rows print in the order they were declared. */
  declare(name: string, meta: { baseline?: string; note?: string } = {}): void {
    const existing = this.measurements.get(name);
    if (existing) Object.assign(existing, meta);
    else this.measurements.set(name, { samples: [], rssKb: [], exec: [], batches: [], ...meta });
  }

  add(name: string, ms: number): void {
    this.get(name).samples.push(ms);
  }

  addExec(name: string, count: number): void {
    this.get(name).exec.push(count);
  }

  addBatches(name: string, count: number): void {
    this.get(name).batches.push(count);
  }

  addRss(name: string, kb: number): void {
    this.get(name).rssKb.push(kb);
  }

  rows(): Row[] {
    const medians = new Map([...this.measurements].map(([name, m]) => [name, median(m.samples)]));
    return [...this.measurements]
      .filter(([, m]) => m.samples.length > 0)
      .map(([name, m]) => {
        const base = m.baseline === undefined ? undefined : medians.get(m.baseline);
        return {
          name,
          runs: m.samples.length,
          medianMs: median(m.samples),
          minMs: Math.min(...m.samples),
          maxMs: Math.max(...m.samples),
          ...(m.baseline !== undefined ? { baseline: m.baseline } : {}),
          ...(base ? { ratio: median(m.samples) / base } : {}),
          ...(m.rssKb.length ? { peakRssMiB: median(m.rssKb) / 1024 } : {}),
          ...(m.exec.length ? { execRequests: Math.max(...m.exec) } : {}),
          ...(m.batches.length ? { batches: Math.max(...m.batches) } : {}),
          ...(m.note !== undefined ? { note: m.note } : {}),
        };
      });
  }

  private get(name: string): Measurement {
    if (!this.measurements.has(name)) this.declare(name);
    return this.measurements.get(name)!;
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface PairSpec {
  name: string;
  floor: string;
  runs: number;
  warmups: number;
  note?: string;
  /** Untimed, before each run of the measured command. */
  prepare?: (i: number) => Promise<void>;
  /** ms, and the exec requests gen reported. */
  measured: () => Promise<number | { ms: number; exec?: number; batches?: number }>;
  floorRun: () => Promise<number>;
}

/** The command and its floor alternate run by run, so drift in the machine's load hits both alike. */
export async function measurePair(results: Results, spec: PairSpec): Promise<void> {
  results.declare(spec.floor);
  results.declare(spec.name, { baseline: spec.floor, ...(spec.note ? { note: spec.note } : {}) });
  for (let i = 0; i < spec.warmups + spec.runs; i++) {
    await spec.prepare?.(i);
    const run = await spec.measured();
    const measured = typeof run === "number" ? { ms: run } : run;
    const floor = await spec.floorRun();
    if (i < spec.warmups) continue;
    results.add(spec.name, measured.ms);
    if (measured.exec !== undefined) results.addExec(spec.name, measured.exec);
    if (measured.batches !== undefined) results.addBatches(spec.name, measured.batches);
    results.add(spec.floor, floor);
  }
  progress(`${spec.name}: done`);
}

export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
