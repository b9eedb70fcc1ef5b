// Runs the gen bin in a terminal of its own (a pseudo-terminal, through Python's pty), as a user at a terminal
// window does: each time what it printed shows `prompt` again, the test types `answer` and Enter. Returns the exit
// status, everything the terminal showed (echo included: a hidden answer must not be there) and how often it asked.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { genBin } from "./run-gen.js";
import { testCacheHome } from "./test-cache-home.js";

const PROGRAM = [
  "import json, os, pty, select, sys",
  "argv, cwd, prompt, answer = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()",
  "pid, fd = pty.fork()",
  "if pid == 0:",
  "    os.chdir(cwd)",
  "    os.execvp(argv[0], argv)",
  'out = b""',
  "answered = 0",
  "while True:",
  "    if not select.select([fd], [], [], 120)[0]:",
  "        break",
  "    try:",
  "        chunk = os.read(fd, 65536)",
  "    except OSError:",
  "        break",
  "    if not chunk:",
  "        break",
  "    out += chunk",
  "    while out.count(prompt) > answered:",
  "        answered += 1",
  '        os.write(fd, answer + b"\\r")',
  "status = os.waitpid(pid, 0)[1]",
  'print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "out": out.decode("utf-8", "replace"), "asked": answered}))',
].join("\n");

export interface TerminalRun {
  exit: number;
  out: string;
  /** How many times the prompt was shown (and the answer typed). */
  asked: number;
}

/** Asynchronous: stand-ins the test process serves (a deploy's Gunicorn) keep answering while gen runs. */
export async function genInTerminal(
  args: string[],
  options: { cwd: string; prompt: string; answer: string; env?: Record<string, string | undefined> },
): Promise<TerminalRun> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome(), ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const { stdout } = await promisify(execFile)(
    "python3",
    ["-c", PROGRAM, JSON.stringify([process.execPath, genBin, ...args]), options.cwd, options.prompt, options.answer],
    { env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 180_000 },
  );
  return JSON.parse(stdout) as TerminalRun;
}
