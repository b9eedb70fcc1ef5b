// Runs the gen command line and collects what it prints, without colours, as the tests compare it:
// runGen in-process through the real yargs parser (fast), runGenBin as users do, the package's bin
// (dist/bundle/main.js) in a child process.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { runCli } from "../../src/cli/run-cli.js";
import { packageRoot } from "../../src/paths.js";
import { testCacheHome } from "./test-cache-home.js";

export interface GenRun {
  code: number;
  out: string;
  err: string;
  /** stdout and stderr together, in order (in-process); stdout then stderr for the bin. */
  all: string;
  seconds: number;
}

export async function runGen(args: string[]): Promise<GenRun> {
  const out: string[] = [];
  const err: string[] = [];
  const all: string[] = [];
  const collect = (stream: string[]) => (text: string) => {
    const plain = stripVTControlCharacters(text);
    stream.push(plain);
    all.push(plain);
  };
  const started = performance.now();
  const code = await runCli(args, { out: collect(out), err: collect(err) });
  return { code, out: out.join("\n"), err: err.join("\n"), all: all.join("\n"), seconds: (performance.now() - started) / 1000 };
}

/** The path of the `gen` bin named in package.json. */
export const genBin = join(packageRoot, (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { bin: { gen: string } }).bin.gen);

export interface BinOptions {
  cwd?: string;
  /** Added to (or, when undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  /** Written to the child's standard input, which is then closed. */
  stdin?: string;
  /** Keep what the bin printed as it is, escape sequences included (colours are off: NO_COLOR). */
  raw?: boolean;
  /** Killed (SIGKILL) when still running after this long, saying so on stderr: a hang fails the test instead of stalling it. */
  timeoutMs?: number;
}

/** Runs the shipped bin in a child process; stdout and stderr are collected separately (without colours). */
export function runGenBin(args: string[], options: BinOptions = {}): Promise<GenRun> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome(), ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [genBin, ...args], { cwd: options.cwd ?? process.cwd(), env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin ?? "");
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const text = (chunks: Buffer[]) => {
        const printed = Buffer.concat(chunks).toString("utf8");
        return (options.raw ? printed : stripVTControlCharacters(printed)).replace(/\n$/, "");
      };
      const stdout = text(out);
      const stderr = `${text(err)}${timedOut ? `\n[killed: still running after ${options.timeoutMs} ms]` : ""}`;
      resolve({ code: code ?? (signal ? 128 : 1), out: stdout, err: stderr, all: `${stdout}\n${stderr}`, seconds: (performance.now() - started) / 1000 });
    });
  });
}
