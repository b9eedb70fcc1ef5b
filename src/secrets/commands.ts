// Secrets whose value a password manager prints: `secret("DB", { command: ["pass", "show", "prod/db"] })`. Each
// command runs once per run, without a shell, in the environments folder, with gen's environment (the password
// manager's session variables) and terminal (its own prompts); its standard output is the value and is kept in
// memory only. Effects: runs the programs. Never returns or shows what a failing command printed.
import type { SecretReference } from "./references.js";

/** A password manager that asks to be unlocked waits for its user; one that hangs is stopped after this. */
export const SECRET_COMMAND_TIMEOUT_MS = 60_000;
/** A value is a line or a key, never megabytes: more is a command printing something else. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export type CommandOutcome = { value: string } | { failure: string };

/** The secrets that are set elsewhere (process environment, secrets file) are left out: those win, nothing is run. */
export async function runSecretCommands(
  references: SecretReference[],
  options: { isSet: (name: string) => boolean; cwd: string; timeoutMs?: number },
): Promise<Map<string, CommandOutcome>> {
  const outcomes = new Map<string, CommandOutcome>();
  for (const { ref } of references) {
    if (ref.command === undefined || outcomes.has(ref.secret) || options.isSet(ref.secret)) continue;
    // One at a time: a password manager may ask its user to unlock it, once.
    outcomes.set(ref.secret, await runSecretCommand(ref.command, options.cwd, options.timeoutMs ?? SECRET_COMMAND_TIMEOUT_MS));
  }
  return outcomes;
}

/** The command's standard output without its trailing line break, or why there is no value (its output never). */
export function runSecretCommand(argv: string[], cwd: string, timeoutMs: number): Promise<CommandOutcome> {
  const [program, ...args] = argv as [string, ...string[]];
  const shown = `\`${program}\``;
  // Loaded here, not imported: child_process brings net and dgram, which a run without secret commands never needs.
  const { spawn } = process.getBuiltinModule("node:child_process");
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      cwd,
      env: process.env,
      // Its prompts and complaints reach the user as they would when run by hand; only its output is the value.
      stdio: [process.stdin.isTTY ? "inherit" : "ignore", "pipe", "inherit"],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stopped: string | undefined;
    const timer = setTimeout(() => stop(`did not finish within ${timeoutMs / 1000} s`), timeoutMs);
    const stop = (why: string) => {
      stopped ??= why;
      child.kill("SIGTERM");
    };
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) stop(`printed more than ${MAX_OUTPUT_BYTES / 1024} KiB`);
      else chunks.push(chunk);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({
        failure: `${shown} could not be started: ${error.code === "ENOENT" ? "no such program (is it installed and on PATH?)" : (error.code ?? error.message)}`,
      });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (stopped) return resolve({ failure: `${shown} ${stopped} and was stopped` });
      if (code !== 0) return resolve({ failure: `${shown} failed (${code === null ? `killed by ${signal}` : `exit ${code}`})` });
      const value = Buffer.concat(chunks)
        .toString("utf8")
        .replace(/\r?\n$/, "");
      resolve(value === "" ? { failure: `${shown} printed nothing` } : { value });
    });
  });
}
