"""Runs a program in a pseudo-terminal of its own, as a user at a terminal window would, for gen's tests.

The spec (JSON, first argument): argv; cwd and env (added to this process's) optional; typed, a list of
{"after": text, "send": text, "run": argv (optional)}: once the output shows `after` (after what the previous one
matched), `run` is run to its end (what changes meanwhile, as another user would) and `send` is typed;
answer, {"prompt": text, "send": text}: typed again each time the prompt shows; close_when: the terminal is closed
(as when its window is) once the output shows that text. Prints {"exit", "out", "asked"} as JSON: the program's exit
status, everything the terminal showed, and how many times the answer was typed.
"""
import json
import os
import pty
import select
import subprocess
import sys


def main():
    spec = json.loads(sys.argv[1])
    typed = list(spec.get("typed", []))
    answer = spec.get("answer")
    close_when = spec.get("close_when")
    pid, fd = pty.fork()
    if pid == 0:
        if spec.get("cwd"):
            os.chdir(spec["cwd"])
        os.execvpe(spec["argv"][0], spec["argv"], {**os.environ, **spec.get("env", {})})
    out, seen, asked = b"", 0, 0
    while True:
        if typed and typed[0]["after"].encode() in out[seen:]:
            seen = len(out)
            step = typed.pop(0)
            if step.get("run"):
                subprocess.run(step["run"], check=True)
            os.write(fd, step["send"].encode())
        while answer and out.count(answer["prompt"].encode()) > asked:
            asked += 1
            os.write(fd, answer["send"].encode())
        if close_when and close_when.encode() in out:
            break
        if not select.select([fd], [], [], spec.get("timeout", 120))[0]:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(fd)
    status = os.waitpid(pid, 0)[1]
    print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "out": out.decode("utf-8", "replace"), "asked": asked}))


main()
