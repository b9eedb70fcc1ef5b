// Real round-trip times for the bench: a network namespace of the bench's own whose loopback holds every TCP packet
// to or from the sshd's port for half the wanted RTT (bench/latency/hold-packets.c on NFQUEUE; netem is not in this
// kernel), and a command run inside it. Everything the measured run does (the test sshd on 127.0.0.1, gen, the ssh
// floor) is inside the namespace, so every SSH packet crosses the delay once each way. Only that port's: what the
// server's own programs connect to on its loopback (doctor's PostgreSQL and Redis) is as near as on a real server.
// Set up and torn down here; root only.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { packageRoot } from "../src/paths.js";
import { progress } from "./measure.js";

const SOURCE = join(packageRoot, "bench", "latency", "hold-packets.c");
const BINARY = join(packageRoot, "dist", "bench", "hold-packets");
const HEADER = "/usr/include/libnetfilter_queue/libnetfilter_queue.h";

/** Why latency mode cannot run here (with what to install), or undefined when it can. */
export function latencyUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "it needs root (a network namespace, iptables and a real-time packet queue)";
  const missing = [
    ["ip", "iproute2"],
    ["iptables-legacy", "iptables"],
    ["chrt", "util-linux"],
    ["gcc", "gcc"],
  ].filter(([tool]) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  if (!existsSync(HEADER)) missing.push(["libnetfilter_queue.h", "libnetfilter-queue-dev"]);
  if (missing.length === 0) return undefined;
  return `it needs ${missing.map(([tool]) => tool).join(", ")}: apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(" ")}`;
}

function holdPackets(): string {
  if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < statSync(SOURCE).mtimeMs) {
    mkdirSync(dirname(BINARY), { recursive: true });
    execFileSync("gcc", ["-O2", "-Wall", "-o", BINARY, SOURCE, "-lnetfilter_queue"], { stdio: "inherit" });
  }
  return BINARY;
}

/** The port the bench's sshd listens on inside a namespace: nothing else does, so it is free. */
export const NAMESPACE_SSHD_PORT = 2222;

export interface LatencyNamespace {
  name: string;
  /** argv that runs `argv` inside the namespace. */
  wrap: (argv: string[]) => string[];
  /** The median time of a TCP connect to that port on the namespace's loopback (one round trip), in ms. */
  measuredRttMs: number;
  stop: () => Promise<void>;
}

/** A namespace whose sshd's port has `rttMs` of round-trip time on loopback (0: no delay, the same namespace otherwise). */
export async function startLatencyNamespace(rttMs: number): Promise<LatencyNamespace> {
  const name = `genlat-${process.pid}-${rttMs}`;
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "inherit"] });
  const inside = (argv: string[]) => ["ip", "netns", "exec", name, ...argv];
  const runInside = (argv: string[]) => execFileSync("ip", ["netns", "exec", name, ...argv], { stdio: ["ignore", "ignore", "inherit"] });
  ip("netns", "add", name);
  let holder: ReturnType<typeof spawn> | undefined;
  const stop = async () => {
    if (holder && holder.exitCode === null) {
      holder.kill("SIGTERM");
      await new Promise((resolve) => holder!.once("exit", resolve));
    }
    spawnSync("ip", ["netns", "del", name]);
  };
  try {
    // Ethernet-sized segments and initial window, as on a real link.
    runInside(["ip", "link", "set", "lo", "mtu", "1500", "up"]);
    if (rttMs > 0) {
      const binary = holdPackets();
      // INPUT, not OUTPUT: a packet held in OUTPUT counts against its sender's TCP small queues (notes/latency.md).
      // --queue-bypass: without the holder running, packets pass instead of being dropped. Both directions: to the
      // port (the client's packets) and from it (the server's).
      const port = String(NAMESPACE_SSHD_PORT);
      for (const direction of ["--dport", "--sport"])
        runInside(["iptables-legacy", "-A", "INPUT", "-i", "lo", "-p", "tcp", direction, port, "-j", "NFQUEUE", "--queue-num", "0", "--queue-bypass"]);
      const argv = inside(["chrt", "-f", "50", binary, String(Math.round((rttMs * 1000) / 2))]);
      holder = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((resolve, reject) => {
        holder!.stdout!.once("data", () => resolve());
        holder!.once("exit", (code) => reject(new Error(`hold-packets exited with ${code} before it was ready`)));
      });
    }
    const measuredRttMs = connectRtt(inside, NAMESPACE_SSHD_PORT);
    progress(`latency namespace ${name}: wanted RTT ${rttMs} ms, TCP connect median ${measuredRttMs.toFixed(1)} ms`);
    return { name, wrap: inside, measuredRttMs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Times 7 TCP connects to a listener on `port` of the namespace's loopback (closed after): a connect is one round trip. */
function connectRtt(inside: (argv: string[]) => string[], port: number): number {
  const script = `
const net = require("node:net");
const server = net.createServer((s) => s.destroy()).listen(${port}, "127.0.0.1", async () => {
  const times = [];
  for (let i = 0; i < 7; i++) {
    const t = process.hrtime.bigint();
    await new Promise((resolve, reject) => { const c = net.connect(${port}, "127.0.0.1", () => { c.destroy(); resolve(); }); c.on("error", reject); });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(times[3]);
  server.close();
});`;
  const argv = inside([process.execPath, "-e", script]);
  return Number(execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8" }).trim());
}
