// A connection lost at any point of gen apply or gen diff: a TCP proxy between gen and the real sshd cuts it after
// N bytes, for N spread over a whole run. gen runs as its own process, so a promise that never
// settles shows as what a user sees: exit 13 with nothing on standard error, or a hang.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConnectionLostError } from "../../src/errors.js";
import { packageRoot } from "../../src/paths.js";
import { connectSsh } from "../../src/transport/ssh.js";
import { startCuttingProxy, type CuttingProxy } from "../support/cutting-proxy.js";
import { sshOptionsFor } from "../support/ssh-options.js";
import { testCacheHome } from "../support/test-cache-home.js";
import { startSshd, type SshdHandle } from "../support/sshd.js";
import { DB_PASSWORD, SECRET_KEY, startGenServer, type GenServer } from "./support/gen-server.js";

const GEN = join(packageRoot, "dist", "src", "cli", "main.js");
/** Far above a run on a loaded machine (a few seconds), far below a test runner's patience. */
const HANG_SECONDS = 240;
/** Words of the steps gen names when a connection is lost. */
const STEP = /\b(cannot connect|could not inspect|while [a-z]+)\b/;

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

function runGenProcess(server: GenServer, knownHosts: string, args: string[]): Promise<Run> {
  const argv = [
    GEN,
    ...args.slice(0, 2),
    "--environments",
    server.envDir,
    "--known-hosts",
    knownHosts,
    "--identity",
    server.sshd.clientKeyPath,
    ...args.slice(2),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome() } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, HANG_SECONDS * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

/**
 * Files in the server's scratch folders (/tmp/tmp.*, where a session once kept each step's input) that hold the test
 * environment's secrets or name its server's root (the header of the staging and install programs' input): what a
 * cut run may leave on the disk. Only folders made since `before` (a list of /tmp's names) are read, without
 * following links and only regular files of up to 1 MiB: /tmp is shared with whatever else runs on the machine.
 */
function leftInScratch(root: string, before: Set<string>): string[] {
  const found: string[] = [];
  const visit = (path: string, depth: number) => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory() && depth < 8) {
      for (const entry of readdirSafe(path)) visit(join(path, entry), depth + 1);
    } else if (stat?.isFile() && stat.size <= 1 << 20) {
      const text = readFileSync(path, "latin1");
      if (text.includes(SECRET_KEY) || text.includes(DB_PASSWORD) || text.includes(root)) found.push(path);
    }
  };
  for (const name of readdirSync("/tmp")) if (name.startsWith("tmp.") && !before.has(name)) visit(join("/tmp", name), 0);
  return found;
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** N values from `low` to `high`, evenly spread on a log scale. */
function spread(low: number, high: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(low * (high / low) ** (i / (count - 1))));
}

/** known_hosts for the proxy's port, with the host key of the sshd behind it. */
async function knownHostsThrough(sshd: SshdHandle, proxy: CuttingProxy, file: string): Promise<string> {
  await writeFile(file, (await readFile(sshd.knownHostsPath, "utf8")).replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${proxy.port}`));
  return file;
}

describe("the SSH transport once its connection is gone", { timeout: HANG_SECONDS * 1000 }, () => {
  it("fails every operation with a message naming the host and the operation, and closes", async () => {
    const sshd = await startSshd();
    const proxy = await startCuttingProxy({ host: sshd.host, port: sshd.port });
    try {
      const knownHosts = await knownHostsThrough(sshd, proxy, join(sshd.tempDir, "known_hosts_proxy"));
      const transport = await connectSsh(sshOptionsFor(sshd, { port: proxy.port, knownHostsPaths: [knownHosts], sudo: true }));
      assert.equal((await transport.run(["true"])).exitCode, 0);
      proxy.cutNow();
      // The first call may be under way when the cut is seen; every later one starts on a closed connection.
      for (let round = 0; round < 2; round++) {
        const operations: [string, () => Promise<unknown>][] = [
          ["running `", () => transport.run(["true"])],
          ["running `", () => transport.runScript("true")],
        ];
        for (const [what, operation] of operations) {
          await assert.rejects(operation(), (error: Error) => {
            assert.ok(error instanceof ConnectionLostError, `${what}: ${error.name}: ${error.message}`);
            assert.ok(error.message.startsWith(`root@127.0.0.1:${proxy.port}`) && error.message.includes(`connection lost while ${what}`), error.message);
            return true;
          });
        }
      }
      await transport.close();
    } finally {
      await proxy.stop();
      await sshd.stop();
    }
  });
});

describe("a connection cut at any point", { timeout: 40 * 60_000 }, () => {
  let server: GenServer;
  let proxy: CuttingProxy;
  let knownHosts: string;
  const tmpBefore = new Set(readdirSync("/tmp"));
  const snapshot = () => join(server.tempDir, "root-before");
  // The server's side of a cut run may still be finishing its step (sshd hangs the session up, the step's program
  // ends on its own): the removal is tried again until nothing writes there any more.
  const restoreRoot = () =>
    execFileSync("sh", [
      "-c",
      `i=0; until rm -rf "$1" 2>/dev/null; do i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.2; done; cp -a "$2" "$1"`,
      "sh",
      server.root,
      snapshot(),
    ]);

  before(async () => {
    server = await startGenServer();
    proxy = await startCuttingProxy({ host: server.sshd.host, port: server.sshd.port });
    knownHosts = await knownHostsThrough(server.sshd, proxy, join(server.tempDir, "known_hosts_proxy"));
    await server.writeEnv({ server: { port: proxy.port } });
    execFileSync("cp", ["-a", server.root, snapshot()]);
  });
  after(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  async function measure(args: string[]): Promise<number> {
    restoreRoot();
    proxy.reset(Infinity);
    const run = await runGenProcess(server, knownHosts, args);
    assert.ok(run.code === 0 || run.code === 2, `${args.join(" ")} without a cut: exit ${run.code}\n${run.stderr}`);
    return proxy.bytes();
  }

  /** A failure, undefined when gen failed as it should, "not cut" when this run ended before `bytes` had passed. */
  async function cutAt(args: string[], bytes: number): Promise<string | undefined> {
    restoreRoot();
    proxy.reset(bytes);
    const run = await runGenProcess(server, knownHosts, args);
    const what = `gen ${args.join(" ")} cut after ${bytes} bytes`;
    if (run.hung) return `${what}: still running after ${HANG_SECONDS} s`;
    // A run's size varies a little (packet padding, window adjustments): one that ended below the cut was not cut.
    if (proxy.bytes() < bytes && (run.code === 0 || run.code === 2)) return "not cut";
    if (run.code !== 1) return `${what}: exit ${run.code ?? run.signal} (expected 1), stderr: ${JSON.stringify(run.stderr)}`;
    if (!run.stderr.includes("127.0.0.1")) return `${what}: stderr does not name the host: ${JSON.stringify(run.stderr)}`;
    if (!STEP.test(run.stderr)) return `${what}: stderr names no step: ${JSON.stringify(run.stderr)}`;
    return undefined;
  }

  // The last bytes of a run (a few per cent) close the connection after the work is done: a cut there loses nothing.
  for (const [args, points] of [
    [["apply", "t", "--yes"], 12],
    [["diff", "t"], 8],
  ] as const) {
    it(`gen ${args.join(" ")} ends with exit 1 naming the host and the step`, async () => {
      const total = await measure([...args]);
      const failures: string[] = [];
      let notCut = 0;
      for (const bytes of spread(300, Math.floor(total * 0.9), points)) {
        const failure = await cutAt([...args], bytes);
        if (failure === "not cut") notCut++;
        else if (failure) failures.push(failure);
      }
      assert.deepEqual(failures, [], `a full run is ${total} bytes; failing cuts:\n${failures.join("\n")}`);
      // The last cut run's server side has finished once its root can be removed (restoreRoot waits for that).
      restoreRoot();
      assert.deepEqual(leftInScratch(server.root, tmpBefore), [], "a cut run left the input of a step on the server's disk");
      assert.ok(notCut <= 1, `${notCut} of ${points} runs ended before their cut (a full run is ${total} bytes)`);
    });
  }
});
