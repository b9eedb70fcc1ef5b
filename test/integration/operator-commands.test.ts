// gen logs and gen run through the bin, against the loopback OpenSSH server: the real sshd, journalctl and sh of this
// machine, logged in as gen-test (not in systemd-journal) or as root. The live release's manage.py is a small Python
// program that reports what it was given (its words, folder, input, whether it has a terminal) and exits as told;
// the real Django and the real journal are in test/real-server/operator-commands.test.ts.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { inTerminalSync } from "../support/in-terminal.js";
import { assertJsonOutput } from "../support/json-output.js";
import { runInterrupted } from "../support/interrupted-run.js";
import { startSilentServer } from "../support/net.js";
import { genBin, runGenBin } from "../support/run-gen.js";
import { ENV_NAME, startGenServer, type GenServer } from "./support/gen-server.js";

const RELEASE = "20260101T000000Z";
const BACKEND = `/var/www/releases/${RELEASE}/backend`;
/** Far above one command on a loaded machine. */
const LIMIT_MS = 60_000;

const MANAGE_PY = `import json, os, sys
words = sys.argv[1:]
print(json.dumps({"argv": words, "cwd": os.getcwd(), "tty": os.isatty(0)}), flush=True)
if words[0] == "exit":
    sys.exit(int(words[1]))
if words[0] == "read-input":
    print("input: " + sys.stdin.read(), flush=True)
if words[0] == "controls":
    sys.stdout.write("title\\x1b]0;owned\\x07 end\\n")
if words[0] == "wait":
    try:
        print("waiting", flush=True)
        sys.stdin.read()
        import time
        time.sleep(120)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
if words[0] == "interactive":
    # Not input(): a SIGINT that lands between the prompt and its read() leaves Python blocked in read(), never raising
    # KeyboardInterrupt (its handler runs between bytecodes). The short waits of select let it run.
    import select
    try:
        sys.stdout.write("ready> ")
        sys.stdout.flush()
        while not select.select([0], [], [], 0.05)[0]:
            pass
        line = sys.stdin.readline().rstrip("\\n")
    except KeyboardInterrupt:
        print("interrupted")
        sys.exit(130)
    print("got %s, terminal %s" % (line, os.isatty(0)))
`;

let server: GenServer;

before(async () => {
  server = await startGenServer({ user: "gen-test" });
  await writeFile(server.file(`${BACKEND}/manage.py`), MANAGE_PY);
});
after(async () => {
  await server?.stop();
});

/** The environment, with release tasks that name manage.py as a project of its own would (python3 manage.py ...). */
async function writeEnv(overrides: Record<string, unknown> = {}): Promise<void> {
  await server.writeEnv({ release: { tasks: [["python3", "manage.py", "migrate", "--noinput"]], migrations: null }, ...overrides });
}

const report = (out: string) => JSON.parse(out.split("\n")[0]!) as { argv: string[]; cwd: string; tty: boolean };

describe("gen run", { concurrency: 1 }, () => {
  before(() => writeEnv());

  it("runs manage.py in the live release's backend as the release tasks do, each word as it was given, and exits with its status", async () => {
    const words = ["show", "a b", "it's", "$(touch /tmp/gen-run-owned)", ";", "*", "--settings=x", "-t"];
    const run = await server.gen(["run", ENV_NAME, "--", ...words], { timeoutMs: LIMIT_MS });
    assert.equal(run.code, 0, run.all);
    const seen = report(run.out);
    assert.deepEqual(seen.argv, words);
    assert.equal(seen.cwd, server.file(BACKEND));
    assert.equal(seen.tty, false);
    assert.match(run.err, new RegExp(`release ${RELEASE}: python3 manage.py show 'a b'`));
    const failed = await server.gen(["run", ENV_NAME, "--", "exit", "3"], { timeoutMs: LIMIT_MS });
    assert.equal(failed.code, 3, failed.all);
  });

  it("hands the command gen's standard input when it is a pipe, and its output as it is when it is not a terminal", async () => {
    const args = ["run", ENV_NAME, "--environments", server.envDir, "--known-hosts", server.sshd.knownHostsPath, "--identity", server.sshd.clientKeyPath];
    const piped = await runGenBin([...args, "--", "read-input"], { stdin: "print('hello')\n", timeoutMs: LIMIT_MS });
    assert.equal(piped.code, 0, piped.all);
    assert.match(piped.out, /input: print\('hello'\)/);
    const raw = await runGenBin([...args, "--", "controls"], { raw: true, timeoutMs: LIMIT_MS });
    assert.equal(raw.code, 0, raw.all);
    assert.match(raw.out, /title\x1b\]0;owned\x07 end/);
  });

  it("gives the command a terminal on the server with --tty: keys reach it, Ctrl-C interrupts it there; without one a terminal sees its output escaped", () => {
    const args = ["run", ENV_NAME, "--environments", server.envDir, "--known-hosts", server.sshd.knownHostsPath, "--identity", server.sshd.clientKeyPath];
    const inTerminal = (words: string[], typed: { after: string; send: string }[]) =>
      inTerminalSync({ argv: [process.execPath, genBin, ...words], typed }, { TERM: "xterm" });
    const answered = inTerminal([...args, "-t", "--", "interactive"], [{ after: "ready> ", send: "hello\r" }]);
    assert.equal(answered.exit, 0, answered.out);
    assert.match(answered.out, /got hello, terminal True/);
    assert.match(answered.out, /"tty": true/);
    const interrupted = inTerminal([...args, "-t", "--", "interactive"], [{ after: "ready> ", send: "\x03" }]);
    assert.match(interrupted.out, /interrupted/);
    assert.equal(interrupted.exit, 130, interrupted.out);
    const escaped = inTerminal([...args, "--", "controls"], []);
    assert.equal(escaped.exit, 0, escaped.out);
    assert.match(escaped.out, /title\\x1b\]0;owned\\x07 end/);
    assert.doesNotMatch(escaped.out, /\x1b\]0;owned/);
  });

  it("passes Ctrl-C on to the command on the server, which ends as it chooses, and exits with its status", async () => {
    const run = await runInterrupted(["run", ENV_NAME, ...connectArgs(), "--", "wait"], [{ at: { output: /waiting/ }, signal: "SIGINT" }]);
    assert.equal(run.signal, null, run.err);
    assert.equal(run.code, 130, `${run.out}\n${run.err}`);
    assert.match(run.out, /interrupted/);
  });

  it("refuses when there is no live release, saying so", async () => {
    await rm(server.file("/var/www/current"));
    try {
      const run = await server.gen(["run", ENV_NAME, "--", "check"], { timeoutMs: LIMIT_MS });
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /no live release on gen-test@127\.0\.0\.1:\d+ \(root [^)]+\): \/var\/www\/current is not there/);
      assert.match(run.err, /gen deploy t makes the first one/);
    } finally {
      execFileSync("ln", ["-s", `releases/${RELEASE}`, server.file("/var/www/current")]);
      execFileSync("chown", ["-h", "gen-test:gen-test", server.file("/var/www/current")]);
    }
  });

  it("stops at a usage error before connecting", async () => {
    const silent = await startSilentServer();
    try {
      await writeEnv({ server: { port: silent.port } });
      for (const [args, message] of [
        [["run", ENV_NAME], /name the management command after --/],
        [["run", ENV_NAME, "check"], /unexpected argument "check" for gen run/],
        [["run", ENV_NAME, "--json", "--", "check"], /has no --json document/],
        [["run", ENV_NAME, "--host", "nowhere", "--", "check"], /--host nowhere: no such host in t/],
        [["run", ENV_NAME, "--tty", "--", "shell"], /--tty needs a terminal/],
      ] as const) {
        const run = await server.gen([...args], { timeoutMs: LIMIT_MS });
        assert.equal(run.code, 2, `${args.join(" ")}: ${run.all}`);
        assert.match(run.err + run.out, message);
      }
      assert.equal(silent.connections(), 0);
    } finally {
      await silent.stop();
      await writeEnv();
    }
  });
});

describe("gen logs", { concurrency: 1 }, () => {
  before(() => writeEnv());

  it("refuses, with the fix, when the release user may not read the system journal; gen doctor warns of it", async () => {
    const run = await server.gen(["logs", ENV_NAME], { timeoutMs: LIMIT_MS });
    assert.equal(run.code, 1, run.all);
    assert.match(run.err, /gen-test may not read the system journal on .*: it is in none of the groups systemd-journal, adm, wheel/);
    assert.match(run.err, /fix: sudo usermod -aG systemd-journal gen-test/);
    const doctor = await server.gen(["doctor", ENV_NAME, "--json"], { timeoutMs: LIMIT_MS });
    const checks = assertJsonOutput<{ hosts: { checks: { check: string; status: string; fix?: string }[] }[] }>("doctor", doctor.out).hosts[0]!.checks;
    const journal = checks.find((c) => c.check === "journal");
    assert.equal(journal?.status, "warn", doctor.out);
    assert.match(journal?.fix ?? "", /sudo usermod -aG systemd-journal gen-test/);
  });

  it("follows the units' journal until Ctrl-C, then ends with status 0 and leaves no journalctl on the server", async () => {
    // root reads the journal (this machine has no journal files: journalctl -f waits for them).
    await writeEnv({ release: { sshUser: "root", tasks: [["python3", "manage.py", "migrate"]], migrations: null } });
    let remote: number[] = [];
    let cmdline: string[] = [];
    let looked = 0;
    // /proc is read at most every 50 ms (runInterrupted asks every 2 ms).
    const started = () => {
      if (Date.now() - looked < 50) return false;
      looked = Date.now();
      remote = journalctlsOf(server.sshd.pid);
      if (remote.length > 0) cmdline = readFileSync(`/proc/${remote[0]}/cmdline`, "utf8").split("\0").filter(Boolean);
      return remote.length > 0;
    };
    const run = await runInterrupted(["logs", ENV_NAME, "tsosi_gunicorn", "-f", "-n", "7", ...connectArgs()], [{ at: { when: started }, signal: "SIGINT" }]);
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    assert.equal(run.signal, null);
    assert.deepEqual(cmdline.slice(1), ["--no-pager", "--output=short-iso", "--lines=7", "--follow", "--unit", "tsosi_gunicorn.service"]);
    assert.deepEqual(await waitUntilGone(remote), []);
  });

  it("reads on each host only the units of its roles, and says which host runs none of them; gen run --host picks the host", async () => {
    const hosts = ["web", "worker"].map((name) => ({ name, host: "127.0.0.1", port: server.sshd.port, root: server.root, roles: [name] }));
    await writeEnv({ server: { hosts }, release: { sshUser: "root", tasks: [["python3", "manage.py", "migrate"]], migrations: null } });
    try {
      let looked = 0;
      const started = () => {
        if (Date.now() - looked < 50) return false;
        looked = Date.now();
        return journalctlsOf(server.sshd.pid).length > 0;
      };
      const run = await runInterrupted(["logs", ENV_NAME, "tsosi_gunicorn", "-f", ...connectArgs()], [{ at: { when: started }, signal: "SIGINT" }]);
      assert.equal(run.code, 0, `${run.out}\n${run.err}`);
      assert.match(run.err, /^worker: runs none of tsosi_gunicorn\.service \(roles worker\)$/m);
      assert.doesNotMatch(run.err, /^web: runs none/m);
      const onWorker = await server.gen(["run", ENV_NAME, "--host", "worker", "--", "show"], { timeoutMs: LIMIT_MS });
      assert.equal(onWorker.code, 0, onWorker.all);
      assert.match(onWorker.err, /^worker: release 20260101T000000Z: python3 manage\.py show$/m);
    } finally {
      await writeEnv();
    }
  });

  it("stops at a usage error before connecting: a unit that is not the environment's, a bad -n, --follow with --json", async () => {
    const silent = await startSilentServer();
    try {
      await writeEnv({ server: { port: silent.port } });
      for (const [args, message] of [
        [["logs", ENV_NAME, "sshd"], /"sshd" is not a unit of environment t/],
        [["logs", ENV_NAME, "tsosi_gunicorn; reboot"], /is not a unit of environment t/],
        [["logs", ENV_NAME, "-n", "-1"], /--lines expects a whole number/],
        [["logs", ENV_NAME, "-f", "--json"], /--follow prints lines as they come/],
      ] as const) {
        const run = await server.gen([...args], { timeoutMs: LIMIT_MS });
        assert.equal(run.code, 2, `${args.join(" ")}: ${run.all}`);
        assert.match(run.err + run.out, message);
      }
      const listed = await server.gen(["logs", ENV_NAME, "nginx"], { timeoutMs: LIMIT_MS });
      assert.match(
        listed.err,
        /its units: tsosi_gunicorn\.socket, tsosi_gunicorn\.service, tsosi_gunicorn_handover\.service, tsosi_celery\.service, tsosi_celery_beat\.service/,
      );
      assert.equal(silent.connections(), 0);
    } finally {
      await silent.stop();
      await writeEnv();
    }
  });
});

function connectArgs(): string[] {
  return ["--environments", server.envDir, "--known-hosts", server.sshd.knownHostsPath, "--identity", server.sshd.clientKeyPath];
}

/** The journalctl processes that the sshd listening as `sshdPid` started (its sessions' descendants). */
function journalctlsOf(sshdPid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "journalctl" && descendsFrom(Number(entry), sshdPid)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid; p > 1; ) {
    if (p === ancestor) return true;
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  }
  return false;
}

/** The processes of `pids` still running once they ended or 30 s passed (sshd ends a session's processes as it closes it). */
async function waitUntilGone(pids: number[]): Promise<number[]> {
  const alive = () => pids.filter((pid) => readdirSync("/proc").includes(String(pid)) && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "journalctl");
  for (let i = 0; i < 300 && alive().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return alive();
}
