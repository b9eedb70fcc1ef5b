// gen logs and gen run on a real server: the container of the real-server tier, applied and deployed to with the sample
// application, its units' real journal read as the deploy user through the group systemd-journal, and Django's own
// management commands run in the live release, a terminal on the server for `shell`. What gen shows is compared with
// what the server itself says (journalctl as root, pgrep).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { terminalArgv } from "../support/in-terminal.js";
import { assertJsonOutput } from "../support/json-output.js";
import { genBin } from "../support/run-bin.js";
import { testCacheHome } from "../support/test-cache-home.js";
import { REAL_SERVER, type RealServer, startRealServer } from "./support/real-server.js";

const ENV = REAL_SERVER.envName;
const DEPLOYER = REAL_SERVER.accounts.deployUser;
let server: RealServer;

before(async () => {
  server = await startRealServer((line) => console.error(`# ${line}`));
  await server.container.exec(["usermod", "-aG", "www-data", DEPLOYER]);
  const applied = await server.gen(["apply", ENV, "--yes"]);
  assert.equal(applied.code, 0, applied.out + applied.err);
  await server.commit("first release");
  const deployed = await server.gen(["deploy", ENV, "--yes", "--repo", server.project]);
  assert.equal(deployed.code, 0, deployed.out + deployed.err);
});

after(async () => {
  await server?.stop();
});

/**
 * gen's argv with the options server.gen adds (environments, known_hosts, the client key), put before `--`: what
 * follows it is the management command's.
 */
function genArgv(args: string[]): string[] {
  const files = server.container.workDir;
  const end = args.includes("--") ? args.indexOf("--") : args.length;
  const own = [
    "--environments",
    join(server.project, "environments"),
    "--known-hosts",
    join(files, "known_hosts"),
    "--identity",
    join(files, "client_ed25519"),
  ];
  return [process.execPath, genBin, ...args.slice(0, end), ...own, ...args.slice(end)];
}

/** gen run: the bin in the container's network, from the project folder, as server.gen runs it. */
function genRun(words: string[]) {
  return server.container.inNet(genArgv(["run", ENV, "--", ...words]), { cwd: server.project, env: GEN_ENV, timeoutMs: 300_000 });
}

const GEN_ENV = { NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome(), SSH_AUTH_SOCK: "" };

/** The unit's journal since the boot as the server prints it (root, short-iso): what gen's lines must be. */
async function journalLines(unit: string): Promise<string[]> {
  const run = await server.container.exec(["journalctl", "-b", "--no-pager", "--output=short-iso", "--unit", unit]);
  return run.out.split("\n").filter(Boolean);
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`not within 60 s: ${what}`);
}

describe("gen logs and gen run on a real server", { concurrency: 1 }, () => {
  it("gen logs needs the deploy user in systemd-journal (doctor warns, logs names the fix), then shows the units' real journal", async () => {
    const doctor = await server.gen(["doctor", ENV]);
    assert.equal(doctor.code, 0, doctor.out + doctor.err);
    assert.match(doctor.out + doctor.err, /warn journal deployer: deployer is in none of the groups systemd-journal, adm, wheel: gen logs cannot read/);
    const refused = await server.gen(["logs", ENV]);
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(refused.err, /deployer may not read the system journal on deployer@127\.0\.0\.1:22/);
    assert.match(refused.err, /fix: sudo usermod -aG systemd-journal deployer/);
    const fix = await server.container.exec(["usermod", "-aG", "systemd-journal", DEPLOYER]);
    assert.equal(fix.code, 0, fix.err);

    const shown = await server.gen(["logs", ENV, "tsosi_gunicorn", "-n", "20"]);
    assert.equal(shown.code, 0, shown.out + shown.err);
    const lines = shown.out.split("\n").filter(Boolean);
    assert.ok(lines.length > 0 && lines.length <= 20, shown.out);
    const journal = await journalLines("tsosi_gunicorn.service");
    for (const line of lines) assert.ok(journal.includes(line), `not a line of the server's journal of tsosi_gunicorn.service: ${line}\n${journal.join("\n")}`);
    assert.match(shown.out, /gunicorn/i);

    const json = await server.gen(["logs", ENV, "-n", "5", "--json"]);
    assert.equal(json.code, 0, json.out + json.err);
    const host = assertJsonOutput<{ hosts: { units: string[]; lines: string[] }[] }>("logs", json.out).hosts[0]!;
    assert.deepEqual(host.units, [
      "tsosi_gunicorn.socket",
      "tsosi_gunicorn.service",
      "tsosi_gunicorn_handover.service",
      "tsosi_celery.service",
      "tsosi_celery_beat.service",
    ]);
    assert.ok(host.lines.length > 0 && host.lines.length <= 5, json.out);
  });

  it("gen logs -f prints lines as the unit writes them, and Ctrl-C ends it with status 0, leaving no journalctl on the server", async () => {
    const follow: ChildProcess = server.container.spawnInNet(genArgv(["logs", ENV, "tsosi_celery_beat", "-f", "-n", "0"]), {
      cwd: server.project,
      env: GEN_ENV,
    });
    let out = "";
    let err = "";
    follow.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    follow.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => follow.once("exit", (code, signal) => resolve({ code, signal })));
    try {
      await waitFor(async () => (await server.container.exec(["pgrep", "-u", DEPLOYER, "-x", "journalctl"])).code === 0, "journalctl runs as deployer");
      const restarted = await server.systemctl("restart", "tsosi_celery_beat.service");
      assert.equal(restarted.code, 0, restarted.err);
      await waitFor(() => /Started (tsosi_celery_beat\.service|tsosi Celery beat)/.test(out), `the restart's lines in gen logs -f:\n${out}\n${err}`);
      follow.kill("SIGINT");
      assert.deepEqual(await exited, { code: 0, signal: null }, err);
      await waitFor(async () => (await server.container.exec(["pgrep", "-u", DEPLOYER, "-x", "journalctl"])).code === 1, "no journalctl left on the server");
    } finally {
      if (follow.exitCode === null && follow.signalCode === null) follow.kill("SIGKILL");
    }
  });

  it("gen run runs Django's management commands in the live release with its settings and database, and exits with their status", async () => {
    const plan = await genRun(["showmigrations", "--plan"]);
    assert.equal(plan.code, 0, plan.out + plan.err);
    assert.match(plan.out, /\[X\] {2}core\.0001_initial/);
    assert.match(plan.err, /release \d{8}T\d{6}Z: \/usr\/bin\/poetry run python3 manage\.py showmigrations --plan/);
    const settings = await genRun(["shell", "-c", "from django.conf import settings; import os; print(settings.ALLOWED_HOSTS, os.getcwd())"]);
    assert.equal(settings.code, 0, settings.out + settings.err);
    const live = (await server.container.exec(["readlink", "-f", "/var/www/current"])).out.trim();
    assert.match(settings.out, new RegExp(`'${REAL_SERVER.accounts.domain}'.* ${live}/backend`));
    const failing = await genRun(["shell", "-c", "import sys; sys.exit(4)"]);
    assert.equal(failing.code, 4, failing.out + failing.err);
  });

  it("gen run -t gives Django's shell a terminal on the server", async () => {
    const shown = await inTerminal(genArgv(["run", ENV, "-t", "--", "shell"]), [
      { after: ">>> ", send: "import os; print('terminal', os.isatty(0))\r" },
      { after: "terminal True", send: "exit()\r" },
    ]);
    assert.equal(shown.exit, 0, shown.out);
    assert.match(shown.out, /terminal True/);
  });
});

/**
 * Runs argv in a pseudo-terminal of its own inside the container's network namespace: each time the output shows
 * `after`, it types `send`; returns gen's status and everything the terminal showed.
 */
async function inTerminal(argv: string[], typed: { after: string; send: string }[]): Promise<{ exit: number; out: string }> {
  const run = await server.container.inNet(terminalArgv({ argv, typed, env: { ...GEN_ENV, TERM: "xterm" } }), { cwd: server.project, timeoutMs: 300_000 });
  assert.equal(run.code, 0, run.err);
  return JSON.parse(run.out) as { exit: number; out: string };
}
