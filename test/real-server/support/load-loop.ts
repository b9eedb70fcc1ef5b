// A bounded request loop through nginx, run in the container's network namespace while gen restarts things:
//   node load-loop.js <host> <rate per second> [long seconds] [long every N]
// Sends GET /api/ over HTTPS to 127.0.0.1:443 with the site's Host header at a steady rate, every Nth request a
// long one (/api/slow/?seconds=S), each on its own connection, until SIGTERM; then waits for the requests under way
// and prints one JSON summary: how many, which failed (status or error) and the slowest short and long ones.
import { request } from "node:https";

export interface LoadSummary {
  requests: number;
  failed: { path: string; at: number; status?: number; error?: string }[];
  /** The slowest short request, in ms: a stall shows here. */
  slowestMs: number;
  long: { requests: number; slowestMs: number };
}

interface Sample {
  path: string;
  at: number;
  ms: number;
  status?: number;
  error?: string;
}

const [host = "localhost", rateText = "25", longText = "8", everyText = "20"] = process.argv.slice(2);
const rate = Number(rateText);
const longSeconds = Number(longText);
const longEvery = Number(everyText);
const started = Date.now();
const samples: Sample[] = [];
const pending = new Set<Promise<void>>();
let sent = 0;
let stopping = false;

function one(path: string): Promise<void> {
  const at = Date.now();
  return new Promise((resolve) => {
    const done = (sample: Omit<Sample, "path" | "at" | "ms">) => {
      samples.push({ path, at: at - started, ms: Date.now() - at, ...sample });
      resolve();
    };
    const req = request(
      { host: "127.0.0.1", port: 443, path, servername: host, headers: { Host: host, Connection: "close" }, rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => done({ status: res.statusCode ?? 0 }));
        res.on("error", (error) => done({ error: error.message }));
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error("timed out after 120 s")));
    req.on("error", (error) => done({ error: error.message }));
    req.end();
  });
}

const timer = setInterval(() => {
  if (stopping) return;
  sent += 1;
  const path = longEvery > 0 && sent % longEvery === 0 ? `/api/slow/?seconds=${longSeconds}` : "/api/";
  const p = one(path);
  pending.add(p);
  void p.then(() => pending.delete(p));
}, 1000 / rate);

process.once("SIGTERM", async () => {
  stopping = true;
  clearInterval(timer);
  await Promise.all(pending);
  const isLong = (s: Sample) => s.path.startsWith("/api/slow/");
  const short = samples.filter((s) => !isLong(s));
  const long = samples.filter(isLong);
  const summary: LoadSummary = {
    requests: samples.length,
    failed: samples
      .filter((s) => s.status !== 200)
      .map(({ path, at, status, error }) => ({ path, at, ...(status ? { status } : {}), ...(error ? { error } : {}) })),
    slowestMs: Math.max(0, ...short.map((s) => s.ms)),
    long: { requests: long.length, slowestMs: Math.max(0, ...long.map((s) => s.ms)) },
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
});
