// gen doctor against the loopback sshd, logged in as gen-test: the real users and groups, unit files under the
// test root, the python3 of this machine, a Poetry stand-in, a real PostgreSQL (test/support/postgres.ts; the
// login's cases are in doctor-postgres.test.ts), a TCP stand-in for Redis (answers PING with +PONG), a closed port
// for "unreachable", and the real sudo reading a drop-in gen rendered (installed under a unique name in
// /etc/sudoers.d, removed in a finally).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { renderedEnvironment } from "../support/rendered-environment.js";
import { assertJsonOutput } from "../support/json-output.js";
import { freePort } from "../support/net.js";
import { withSudoersLock } from "../support/sudoers-lock.js";
import { startPostgres } from "../support/postgres.js";
import { DB_PASSWORD, ENV_NAME, startGenServer, type GenServer } from "./support/gen-server.js";

const USER = "gen-test";
const POETRY = `/home/${USER}/.local/bin/poetry`;
const NOT_INSTALLED_YET = "the drop-in /etc/sudoers.d/tsosi is not installed yet: gen apply installs it, with its 24 commands";
const NO_RULE_LISTED =
  "; sudo -n -l as gen-test lists no command (rules that need a password show once the drop-in is installed: run gen doctor again after the first apply)";

interface DoctorReport {
  ok: boolean;
  hosts: { host: string; checks?: { check: string; subject: string; status: string; detail: string; fix?: string }[]; error?: string }[];
}

/** A TCP server on 127.0.0.1 that answers whatever it is sent with `reply(data)`. */
async function standIn(reply: (data: Buffer) => string | undefined): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.on("data", (data) => {
      const answer = reply(data);
      if (answer !== undefined) socket.end(answer);
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, server };
}

/** The major.minor of the python3 a login on this machine finds. */
function pythonVersion(): string {
  const run = spawnSync("/usr/bin/python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
  assert.equal(run.status, 0, "python3 is not installed (Debian package python3): npm run test:full installs it");
  return run.stdout.trim();
}

async function writePoetry(server: GenServer, inProject: string): Promise<void> {
  const path = server.file(POETRY);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(
    path,
    `#!/bin/sh\n# poetry stand-in\ncase "$*" in\n  --version) echo "Poetry (version 1.8.3)" ;;\n  "config virtualenvs.in-project") echo ${inProject} ;;\n  *) exit 1 ;;\nesac\n`,
  );
  await chmod(path, 0o755);
}

/** The sudoers drop-in gen renders for the test environment. */
async function renderedDropIn(server: GenServer): Promise<string> {
  const { files } = await renderedEnvironment(ENV_NAME, server.envDir);
  const file = files.find((f) => f.kind === "sudoers");
  assert.ok(file, "gen rendered no sudoers drop-in");
  return file.content;
}

/** Installs `content` in /etc/sudoers.d under a unique name (checked with visudo first) while `body` runs. */
async function withDropIn<T>(server: GenServer, content: string, body: () => Promise<T>): Promise<T> {
  assert.equal(process.getuid?.(), 0, "this test installs a sudoers drop-in and must run as root (npm run test:full, .ci/run)");
  const candidate = join(server.tempDir, "dropin");
  await writeFile(candidate, content, { mode: 0o440 });
  const check = spawnSync("visudo", ["-cf", candidate], { encoding: "utf8" });
  assert.equal(check.status, 0, `visudo -cf refuses the drop-in: ${check.stdout}${check.stderr}`);
  const installed = `/etc/sudoers.d/gen-doctor-${randomBytes(6).toString("hex")}`;
  // Also when the test run is interrupted: a drop-in left behind would change what sudo lists for gen-test.
  const remove = () => rmSync(installed, { force: true });
  const stop = () => process.off("exit", remove).off("SIGINT", onSignal).off("SIGTERM", onSignal);
  // Removes the file, then dies of the signal as it would have without this listener.
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    stop();
    process.kill(process.pid, signal);
  };
  process.on("exit", remove).on("SIGINT", onSignal).on("SIGTERM", onSignal);
  try {
    await writeFile(installed, content, { mode: 0o440 });
    return await body();
  } finally {
    remove();
    stop();
  }
}

const BOOKWORM = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n`;
const NOBLE = `PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\n`;

/** An apt archive with these packages and versions in the test root's package lists, as after apt-get update. */
async function writeArchive(server: GenServer, packages: Record<string, string>): Promise<void> {
  await mkdir(server.file("/etc/apt"), { recursive: true });
  await mkdir(server.file("/var/lib/apt/lists"), { recursive: true });
  await mkdir(server.file("/var/lib/dpkg"), { recursive: true });
  await writeFile(server.file("/etc/apt/sources.list"), "deb [trusted=yes] http://deb.example/debian bookworm main\n");
  await writeFile(server.file("/var/lib/dpkg/status"), "");
  const stanzas = Object.entries(packages).map(([name, version]) => `Package: ${name}\nVersion: ${version}\nArchitecture: all\nDescription: stand-in\n`);
  await writeFile(server.file("/var/lib/apt/lists/deb.example_debian_dists_bookworm_main_binary-all_Packages"), stanzas.join("\n"));
}

function checks(report: DoctorReport) {
  assert.equal(report.hosts.length, 1);
  assert.equal(report.hosts[0]!.error, undefined, report.hosts[0]!.error);
  return report.hosts[0]!.checks!;
}

describe("gen doctor", { concurrency: 1 }, () => {
  it("says a ready server is ready (exit 0), and names a command sudo allows beyond the drop-in (exit 1)", async () => {
    const server = await startGenServer({ user: USER });
    const redis = await standIn((data) => (data.toString() === "PING\r\n" ? "+PONG\r\n" : "-ERR\r\n"));
    const postgres = await startPostgres({ roles: [{ name: "tsosi", password: DB_PASSWORD, method: "scram-sha-256" }], databases: ["tsosi"] });
    try {
      await writePoetry(server, "true");
      // gen-test's own group holds the socket: gen-test may connect to it.
      await server.writeEnv({
        app: { pythonVersion: pythonVersion() },
        redis: { port: redis.port },
        postgres: { port: postgres.port },
        gunicorn: { socketGroup: USER },
      });
      const dropIn = await renderedDropIn(server);
      await withSudoersLock(async () => {
        // Before the first apply: no drop-in, and no sudo rule for gen-test.
        const fresh = await server.gen(["doctor", ENV_NAME, "--min-free-mb", "1", "--json"]);
        assert.equal(fresh.code, 0, fresh.all);
        assert.deepEqual(
          checks(assertJsonOutput<DoctorReport>("doctor", fresh.out)).filter((c) => c.check === "sudo"),
          [{ check: "sudo", subject: USER, status: "ok", detail: NOT_INSTALLED_YET + NO_RULE_LISTED }],
        );
        await withDropIn(server, dropIn, async () => {
          const run = await server.gen(["doctor", ENV_NAME, "--min-free-mb", "1"]);
          assert.equal(run.code, 0, run.all);
          assert.match(run.out, /^ready for gen apply$/m);
          const json = await server.gen(["doctor", ENV_NAME, "--min-free-mb", "1", "--json"]);
          assert.equal(json.code, 0, json.all);
          const report = assertJsonOutput<DoctorReport>("doctor", json.out);
          assert.equal(report.ok, true);
          const seen = checks(report);
          // Ready with one warning: gen-test cannot read the journal, which only gen logs needs.
          assert.deepEqual(
            seen.filter((c) => c.status !== "ok"),
            [
              {
                check: "journal",
                subject: USER,
                status: "warn",
                detail: "gen-test is in none of the groups systemd-journal, adm, wheel: gen logs cannot read the units' journal",
                fix: "sudo usermod -aG systemd-journal gen-test (it takes effect at gen-test's next login)",
              },
            ],
            "nothing to fix",
          );
          assert.deepEqual(
            [...new Set(seen.map((c) => c.check))],
            ["user", "group", "journal", "unit", "python", "poetry", "poetry-in-project", "postgres", "postgres-login", "redis", "disk", "sudo"],
          );
          assert.match(seen.find((c) => c.check === "sudo")!.detail, /^sudo -n -l as gen-test lists exactly the drop-in's 24 commands$/);
          assert.ok(
            seen.some((c) => c.check === "group" && c.subject === USER && /^gen-test is in group gen-test: the Gunicorn socket /.test(c.detail)),
            JSON.stringify(seen),
          );
        });
        const extra = `${dropIn}${USER} ALL=(root) NOPASSWD: /usr/bin/id\n`;
        await withDropIn(server, extra, async () => {
          const run = await server.gen(["doctor", ENV_NAME, "--min-free-mb", "1"]);
          assert.equal(run.code, 1, run.all);
          assert.match(
            run.err,
            /^127\.0\.0\.1: FAIL sudo gen-test: sudo -n -l as gen-test lists 1 commands the drop-in does not( \(from \/etc\/sudoers\.d\/gen-doctor-[0-9a-f]+\))?: \/usr\/bin\/id$/m,
          );
          // sudo names the file of an entry from 1.9.14 on
          assert.match(
            run.err,
            /^127\.0\.0\.1: {6}fix: (sudo visudo -f \/etc\/sudoers\.d\/gen-doctor-[0-9a-f]+ |sudo grep -rn gen-test \/etc\/sudoers \/etc\/sudoers\.d, then remove)/m,
          );
        });
      });
    } finally {
      redis.server.close();
      await postgres.stop();
      await server.stop();
    }
  });

  it("lists every problem at once, each with its fix, and exits 1", async () => {
    const server = await startGenServer({ user: USER });
    const closed = await freePort();
    try {
      await server.writeEnv({
        server: { deployUser: "gen-doctor-nobody", deployGroup: "gen-doctor-nogroup", systemServices: ["nginx", "gen-doctor-absent"] },
        app: { pythonVersion: "3.99" },
        release: { sshUser: USER },
        redis: { port: closed },
        postgres: { port: closed },
        nginx: { tls: true },
      });
      const run = await server.gen(["doctor", ENV_NAME, "--min-free-mb", "999999999"]);
      assert.equal(run.code, 1, run.all);
      const lines = run.err.split("\n");
      const problem = (pattern: RegExp, fix: RegExp) => {
        const at = lines.findIndex((l) => pattern.test(l));
        assert.ok(at >= 0, `${pattern} in:\n${run.err}`);
        assert.match(lines[at + 1] ?? "", fix, `the line after ${lines[at]}`);
      };
      const fix = (text: RegExp) => new RegExp(`^127\\.0\\.0\\.1: {6}fix: ${text.source}`);
      problem(
        /FAIL user gen-doctor-nobody: user gen-doctor-nobody does not exist \(server\.deployUser\)$/,
        fix(/sudo adduser --disabled-password --gecos "" gen-doctor-nobody$/),
      );
      problem(/FAIL group gen-doctor-nogroup: /, fix(/sudo addgroup gen-doctor-nogroup && sudo adduser gen-doctor-nobody gen-doctor-nogroup$/));
      problem(
        /FAIL group www-data: gen-test is not in group www-data: every deploy's Gunicorn smoke check connects to the Gunicorn socket \/run\/tsosi_gunicorn\.sock \(www-data:www-data 0660\) as gen-test, and is refused$/,
        fix(/sudo usermod -aG www-data gen-test \(it takes effect at gen-test's next login: an SSH session already open keeps its groups\)$/),
      );
      problem(/FAIL unit gen-doctor-absent\.service: /, fix(/sudo apt-get install gen-doctor-absent$/));
      // No /etc/os-release under the test root: no package is named for a distribution gen cannot tell.
      problem(
        /FAIL python python3\.99: python3\.99 is not on the PATH of gen-test/,
        fix(
          /install Python 3\.99, so that python3\.99 is on gen-test's PATH \(gen knows no package of it for a server without \/etc\/os-release\), or set app\.pythonVersion to "3\.\d+", the version of the server's python3$/,
        ),
      );
      problem(
        /FAIL poetry \/home\/gen-doctor-nobody\/\.local\/bin\/poetry: no executable poetry/,
        fix(/sudo apt-get install pipx && sudo -u gen-doctor-nobody pipx install poetry/),
      );
      problem(/FAIL poetry-in-project /, fix(/sudo -u gen-doctor-nobody \/home\/gen-doctor-nobody\/\.local\/bin\/poetry config virtualenvs\.in-project true$/));
      problem(new RegExp(`FAIL postgres 127\\.0\\.0\\.1:${closed}: nothing answers`), fix(/sudo apt-get install postgresql/));
      assert.match(
        run.err,
        new RegExp(`^127\\.0\\.0\\.1: warn postgres-login tsosi@tsosi: not checked: PostgreSQL does not answer on 127\\.0\\.0\\.1:${closed}`, "m"),
      );
      problem(
        new RegExp(`FAIL redis 127\\.0\\.0\\.1:${closed}: nothing answers`),
        fix(/sudo apt-get install redis-server && sudo systemctl enable --now redis-server/),
      );
      problem(
        /FAIL certificate \/etc\/letsencrypt\/live\/tsosi\.localhost\/fullchain\.pem: .* is missing/,
        fix(/sudo apt-get install certbot python3-certbot-nginx && sudo certbot certonly --nginx -d tsosi\.localhost/),
      );
      problem(/FAIL certificate \/etc\/letsencrypt\/ssl-dhparams\.pem: /, fix(/sudo apt-get install certbot python3-certbot-nginx && sudo certbot certonly/));
      problem(/FAIL disk \/var\/www\/releases: \d+ MiB free on \/(var\/www\/releases)? /, fix(/make room on the disk of \/var\/www\/releases/));
      assert.match(run.out, /^127\.0\.0\.1: ok {3}unit nginx\.service: installed \(\/lib\/systemd\/system\/nginx\.service\)$/m);
      assert.match(run.err, /^not ready: 14 problems \(each with its fix above\)$/m);

      const json = await server.gen(["doctor", ENV_NAME, "--min-free-mb", "999999999", "--json"]);
      assert.equal(json.code, 1, json.all);
      const report = assertJsonOutput<DoctorReport>("doctor", json.out);
      assert.equal(report.ok, false);
      const failed = checks(report).filter((c) => c.status === "fail");
      assert.equal(failed.length, 14);
      assert.deepEqual(
        failed.filter((c) => !c.fix),
        [],
        "every problem has a fix",
      );
    } finally {
      await server.stop();
    }
  });

  it("names Python packages only where the server's distribution has them (its /etc/os-release, apt-cache policy)", async () => {
    const server = await startGenServer({ user: USER });
    try {
      const pythonFix = async (osRelease: string) => {
        await mkdir(server.file("/etc"), { recursive: true });
        await writeFile(server.file("/etc/os-release"), osRelease);
        const run = await server.gen(["doctor", ENV_NAME, "--json", "--min-free-mb", "1"]);
        const python = checks(assertJsonOutput<DoctorReport>("doctor", run.out)).filter((c) => c.check === "python");
        assert.deepEqual(
          python.map((c) => c.status),
          ["fail"],
          `python3.12 is not on this machine's PATH: ${JSON.stringify(python)}`,
        );
        return python[0]!.fix;
      };
      await server.writeEnv({ app: { pythonVersion: "3.12" } });
      // No package lists under the test root: what gen knows of each release.
      assert.equal(
        await pythonFix(BOOKWORM),
        `set app.pythonVersion to "3.11": Debian GNU/Linux 12 (bookworm) has Python 3.11, not 3.12 (sudo apt-get install python3 python3-venv); or install Python 3.12 another way, so that python3.12 is on gen-test's PATH`,
      );
      assert.equal(await pythonFix(NOBLE), "sudo apt-get install python3.12 python3.12-venv");
      // apt's lists answer before the table: an archive with python3.12 (a backport, say) on Debian 12.
      await writeArchive(server, { python3: "3.11.2-1+b1", "python3-venv": "3.11.2-1+b1", "python3.12": "3.12.1-1", "python3.12-venv": "3.12.1-1" });
      assert.equal(await pythonFix(BOOKWORM), "sudo apt-get install python3.12 python3.12-venv");
      await writeArchive(server, { python3: "3.11.2-1+b1" });
      assert.equal(
        await pythonFix(BOOKWORM),
        `set app.pythonVersion to "3.11": Debian GNU/Linux 12 (bookworm) has Python 3.11, not 3.12 (sudo apt-get install python3); or install Python 3.12 another way, so that python3.12 is on gen-test's PATH`,
      );
    } finally {
      await server.stop();
    }
  });

  it("names the group the release user must join to connect to the Gunicorn socket, unless its mode lets anyone connect", async () => {
    const server = await startGenServer({ user: USER });
    try {
      const membership = async () => {
        const run = await server.gen(["doctor", ENV_NAME, "--json", "--min-free-mb", "1"]);
        return checks(assertJsonOutput<DoctorReport>("doctor", run.out)).filter(
          (c) => c.check === "group" && c.subject === "www-data" && c.detail.includes("socket"),
        );
      };
      // www-data by default (server.webGroup), which gen-test is not in
      await server.writeEnv();
      assert.deepEqual(await membership(), [
        {
          check: "group",
          subject: "www-data",
          status: "fail",
          detail:
            "gen-test is not in group www-data: every deploy's Gunicorn smoke check connects to the Gunicorn socket /run/tsosi_gunicorn.sock (www-data:www-data 0660) as gen-test, and is refused",
          fix: "sudo usermod -aG www-data gen-test (it takes effect at gen-test's next login: an SSH session already open keeps its groups)",
        },
      ]);
      await server.writeEnv({ gunicorn: { socketMode: "0666" } });
      assert.deepEqual(await membership(), []);
    } finally {
      await server.stop();
    }
  });

  it("before the first apply, reports the drop-in apply installs as such but any other sudo rule as a problem", async () => {
    const server = await startGenServer({ user: USER });
    try {
      await server.writeEnv();
      const sudoChecks = async () => {
        const run = await server.gen(["doctor", ENV_NAME, "--json", "--min-free-mb", "1"]);
        return checks(assertJsonOutput<DoctorReport>("doctor", run.out)).filter((c) => c.check === "sudo");
      };
      await withSudoersLock(async () => {
        assert.deepEqual(await sudoChecks(), [{ check: "sudo", subject: USER, status: "ok", detail: NOT_INSTALLED_YET + NO_RULE_LISTED }]);
        // A rule the drop-in does not have is a way to root, drop-in or not.
        await withDropIn(server, `${USER} ALL=(root) NOPASSWD: /usr/bin/id\n`, async () => {
          const [before, extra, ...more] = await sudoChecks();
          assert.deepEqual(more, []);
          assert.deepEqual(before, { check: "sudo", subject: USER, status: "ok", detail: NOT_INSTALLED_YET });
          assert.equal(extra?.status, "fail");
          assert.match(
            extra?.detail ?? "",
            /^sudo -n -l as gen-test lists 1 commands the drop-in does not( \(from \/etc\/sudoers\.d\/gen-doctor-[0-9a-f]+\))?: \/usr\/bin\/id$/,
          );
        });
      });
    } finally {
      await server.stop();
    }
  });

  it("names the drop-in's commands that sudo -n -l does not list for the deploy user once the drop-in is installed", async () => {
    const server = await startGenServer({ user: USER });
    try {
      await server.writeEnv();
      // There, but giving gen-test nothing (sudo reads this machine's /etc, not the test root's).
      await mkdir(server.file("/etc/sudoers.d"), { recursive: true });
      await writeFile(server.file("/etc/sudoers.d/tsosi"), "", { mode: 0o440 });
      await withSudoersLock(async () => {
        const run = await server.gen(["doctor", ENV_NAME, "--json", "--min-free-mb", "1"]);
        assert.equal(run.code, 1, run.all);
        const sudo = checks(assertJsonOutput<DoctorReport>("doctor", run.out)).filter((c) => c.check === "sudo");
        assert.equal(sudo.length, 1, JSON.stringify(sudo));
        const systemctl = join(server.tempDir, "systemctl");
        assert.equal(sudo[0]!.status, "fail");
        assert.match(sudo[0]!.detail, /^sudo -n -l as gen-test lacks 24 of the drop-in's commands \(sudo -n -l: sudo: a password is required\): /);
        for (const command of ["restart nginx", "reload nginx", "status redis-server", "restart tsosi_gunicorn", "stop tsosi_celery_beat"]) {
          assert.ok(sudo[0]!.detail.includes(`${systemctl} ${command}`), `${command} in ${sudo[0]!.detail}`);
        }
        assert.equal(sudo[0]!.fix, "gen apply t (as an administrator: it installs the drop-in /etc/sudoers.d/tsosi)");
      });
    } finally {
      await server.stop();
    }
  });
});
