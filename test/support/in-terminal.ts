// Runs a program in a terminal of its own (a pseudo-terminal, through Python's pty: test/support/terminal_driver.py),
// as a user at a terminal window does: typing after what it shows, answering each prompt, or closing the window.
// Returns the exit status, everything the terminal showed (echo included: a hidden answer must not be there) and
// how often the answer was typed.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../src/paths.js";
import { genBin } from "./run-gen.js";
import { testCacheHome } from "./test-cache-home.js";

/** The driver, run by this machine's python3 (also inside a container's network namespace: its files are ours). */
export const TERMINAL_DRIVER = join(packageRoot, "test", "support", "terminal_driver.py");

export interface TerminalSpec {
  argv: string[];
  cwd?: string;
  /** Added to the driver's environment for the program. */
  env?: Record<string, string>;
  /**
   * Each `send` is typed once the output shows its `after` (after what the one before matched), once `run` (a command
   * line: what changes meanwhile) ended.
   */
  typed?: { after: string; send: string; run?: string[] }[];
  /** Typed again each time the prompt shows. */
  answer?: { prompt: string; send: string };
  /** The terminal is closed (as when its window is) once the output shows this. */
  close_when?: string;
}

export interface TerminalRun {
  exit: number;
  out: string;
  /** How many times the answer was typed. */
  asked: number;
}

/** The driver's command line for `spec`. */
export function terminalArgv(spec: TerminalSpec): string[] {
  return ["python3", TERMINAL_DRIVER, JSON.stringify(spec)];
}

function terminalEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome(), ...extra };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env as NodeJS.ProcessEnv;
}

/** Blocks the test process until the program ended: for programs that need nothing the test process serves. */
export function inTerminalSync(spec: TerminalSpec, env: Record<string, string | undefined> = {}): TerminalRun {
  const [python, ...args] = terminalArgv(spec);
  return JSON.parse(execFileSync(python!, args, { env: terminalEnv(env), encoding: "utf8", timeout: 180_000 })) as TerminalRun;
}

/** inTerminalSync without blocking the test process: other tests, and stand-ins it serves, go on meanwhile. */
export async function inTerminal(spec: TerminalSpec, env: Record<string, string | undefined> = {}): Promise<TerminalRun> {
  const [python, ...args] = terminalArgv(spec);
  const { stdout } = await promisify(execFile)(python!, args, { env: terminalEnv(env), encoding: "utf8", timeout: 180_000 });
  return JSON.parse(stdout) as TerminalRun;
}

/** The gen bin answering `prompt` with `answer` and Enter. Asynchronous: stand-ins the test process serves (a deploy's Gunicorn) keep answering while gen runs. */
export async function genInTerminal(
  args: string[],
  options: { cwd: string; prompt: string; answer: string; env?: Record<string, string | undefined> },
): Promise<TerminalRun> {
  const spec: TerminalSpec = { argv: [process.execPath, genBin, ...args], cwd: options.cwd, answer: { prompt: options.prompt, send: `${options.answer}\r` } };
  return inTerminal(spec, options.env);
}
