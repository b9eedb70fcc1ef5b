// Runs the gen bin in a terminal of its own (a pseudo-terminal, through Python's pty), as a user at a terminal
// window does: whenever what it printed shows `prompt`, the test types `answer` and Enter. Returns the exit status
// and everything the terminal showed (echo included: a hidden answer must not be there).
import { execFileSync } from "node:child_process";
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
  "typed = False",
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
  "    if not typed and prompt in out:",
  "        typed = True",
  '        os.write(fd, answer + b"\\r")',
  "status = os.waitpid(pid, 0)[1]",
  'print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "out": out.decode("utf-8", "replace"), "typed": typed}))',
].join("\n");

export interface TerminalRun {
  exit: number;
  out: string;
  /** Whether the prompt was shown (and the answer typed). */
  typed: boolean;
}

export function genInTerminal(args: string[], options: { cwd: string; prompt: string; answer: string }): TerminalRun {
  const env = { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome() };
  const printed = execFileSync("python3", ["-c", PROGRAM, JSON.stringify([process.execPath, genBin, ...args]), options.cwd, options.prompt, options.answer], {
    env,
    encoding: "utf8",
    timeout: 180_000,
  });
  return JSON.parse(printed) as TerminalRun;
}
