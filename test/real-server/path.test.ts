// The README's path on a real server: a Debian 12 container with systemd as its PID 1, nginx, PostgreSQL and
// Redis, and the sample application (a Django project) released into it by gen's bin, as an operator runs it.
// Every effect is read from the server itself: systemctl, the journal, files, requests through nginx with the
// site's Host header, sudo -l. The steps share one server and run in order; each depends on the ones before.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { REAL_SERVER, type RealServer, startRealServer } from "./support/real-server.js";

const UNITS = ["tsosi_gunicorn.socket", "tsosi_gunicorn.service", "tsosi_celery.service", "tsosi_celery_beat.service"];
const ENV = REAL_SERVER.envName;

let server: RealServer;
const releases: string[] = [];

before(async () => {
  server = await startRealServer((line) => console.error(`# ${line}`));
});
after(async () => {
  await server?.stop();
});

async function state(unit: string): Promise<string> {
  return (await server.systemctl("is-active", unit)).out.trim();
}

async function enabled(unit: string): Promise<string> {
  return (await server.systemctl("is-enabled", unit)).out.trim();
}

/** gen's own files and links under /etc/systemd/system (the *.wants folders included). */
async function unitFiles(): Promise<string[]> {
  const found = await server.container.exec(["find", "/etc/systemd/system", "-name", "tsosi*"]);
  return found.out.split("\n").filter(Boolean).sort();
}

async function live(): Promise<string> {
  return (await server.container.exec(["readlink", "/var/www/current"])).out.trim().split("/").pop() ?? "";
}

function deploy(...extra: string[]) {
  return server.gen(["deploy", ENV, "--yes", "--repo", server.project, ...extra]);
}

async function apiAnswers(): Promise<void> {
  const api = await server.request("/api/");
  assert.equal(api.status, 200, api.body);
  assert.match(api.body, /"app": "gen sample app"/);
}

describe("the README's path on a real server", { concurrency: 1 }, () => {
  it("gen doctor on the fresh server names what the administrator must do, and passes once it is done", async () => {
    const first = await server.gen(["doctor", ENV]);
    const said = first.out + first.err;
    assert.equal(first.code, 1, said);
    // The deploy user is not yet in the socket's group: every deploy's Gunicorn check would fail.
    assert.match(said, /FAIL group www-data: deployer is not in group www-data/);
    assert.match(said, /not ready: 1 problem/);
    // The drop-in is not installed yet: apply installs it; that is no problem before the first apply.
    assert.doesNotMatch(said, /FAIL sudo/);
    // Its fixes name what the server's distribution has: Debian 12 has no python3.12 package.
    server.writeEnv({ app: { pythonVersion: "3.12" } });
    const newer = await server.gen(["doctor", ENV]);
    server.writeEnv();
    assert.match(newer.out + newer.err, /set app\.pythonVersion to "3\.11": Debian GNU\/Linux 12 \(bookworm\) has Python 3\.11, not 3\.12/);
    assert.doesNotMatch(newer.out + newer.err, /apt-get install python3\.12/);
    const fix = await server.container.exec(["usermod", "-aG", "www-data", "deployer"]);
    assert.equal(fix.code, 0, fix.err);
    const ready = await server.gen(["doctor", ENV]);
    assert.equal(ready.code, 0, ready.out + ready.err);
  });

  it("a first apply that fails on the server leaves no file, unit or link of it, and nginx as it was", async () => {
    // An extra unit of the environment's own whose start fails: it is restarted after gen's units were enabled.
    writeFileSync(join(server.project, "environments", "failing.service.njk"), "[Unit]\nDescription=fails\n[Service]\nType=oneshot\nExecStart=/bin/false\n");
    server.writeEnv({
      files: [{ path: "/etc/systemd/system/tsosi_extra.service", template: "failing.service.njk", restart: ["tsosi_extra"] }],
    });
    const run = await server.gen(["apply", ENV, "--yes"]);
    server.writeEnv();
    assert.equal(run.code, 1, run.out + run.err);
    assert.match(
      run.err,
      /restart tsosi_extra\.service` failed on 127\.0\.0\.1 \(exit 1\); every file of this apply was restored and its service changes undone/,
    );
    assert.deepEqual(await unitFiles(), [], "no unit file or *.wants link of the failed apply");
    const units = await server.systemctl("list-units", "--all", "--no-legend", "tsosi*");
    assert.equal(units.out.trim(), "", `systemd still knows units of the failed apply:\n${units.out}`);
    for (const path of [
      "/etc/sudoers.d/tsosi",
      "/etc/nginx/sites-enabled/tsosi-app",
      "/etc/nginx/sites-available/tsosi-app",
      "/home/deployer/config/settings_local.py",
    ])
      assert.equal((await server.container.exec(["test", "-e", path])).code, 1, `${path} left behind`);
    // nginx was reloaded back to Debian's default site, which answers plain HTTP (nginx applies a reload a moment
    // after systemctl returns).
    await waitFor(async () => (await server.request("/", { https: false })).status === 200, 10_000, `nginx still serves the removed site\n${run.err}`);
    assert.equal((await server.request("/", { https: true })).status, 0, "nothing listens on 443 any more");
  });

  it("gen apply on a server without a release installs and enables the units, and starts only what needs no release", async () => {
    const run = await server.gen(["apply", ENV, "--yes"]);
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(run.out, /not started until the first release \(gen deploy starts them\): tsosi_celery\.service, tsosi_celery_beat\.service/);
    for (const unit of ["tsosi_gunicorn.socket", "tsosi_celery.service", "tsosi_celery_beat.service"]) assert.equal(await enabled(unit), "enabled", unit);
    assert.equal(await state("tsosi_gunicorn.socket"), "active");
    for (const unit of ["tsosi_gunicorn.service", "tsosi_celery.service", "tsosi_celery_beat.service"]) assert.equal(await state(unit), "inactive", unit);
    const sudo = await server.container.exec(["sudo", "-l", "-U", "deployer"]);
    // sudo wraps long rules over several lines: the listing after its heading, joined, one rule per "(root)".
    const listing = sudo.out.slice(sudo.out.indexOf("may run the following commands")).replace(/\s+/g, " ");
    const commands = listing
      .split("(root) NOPASSWD: ")
      .slice(1)
      .flatMap((rule) => rule.trim().split(", "));
    const dropIn = readFileSync(join(server.container.root, "etc/sudoers.d/tsosi"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("deployer "))
      .flatMap((l) => l.replace(/^.*NOPASSWD:\s*/, "").split(", "));
    assert.deepEqual(commands.sort(), dropIn.sort(), "sudo -l lists exactly the drop-in");
    assert.equal(dropIn.length, 24);
    const diff = await server.gen(["diff", ENV]);
    assert.equal(diff.code, 0, diff.out + diff.err);
  });

  it("the first gen deploy starts everything, and the site answers through nginx", async () => {
    releases.push(await server.commit("first release"));
    const run = await deploy();
    assert.equal(run.code, 0, run.out + run.err);
    for (const unit of UNITS) assert.equal(await state(unit), "active", `${unit}\n${await server.journal(unit)}`);
    await apiAnswers();
    const redirect = await server.request("/api/", { https: false });
    assert.equal(redirect.status, 301);
    const css = await server.request("/static/core/app.css");
    assert.equal(css.status, 200, css.body);
    const check = await server.gen(["check", ENV]);
    assert.equal(check.code, 0, check.out + check.err);
  });

  it("Celery beat runs the task, keeps its schedule out of the release, and is started once per deploy", async () => {
    await waitFor(async () => (await server.request("/media/heartbeat.json")).status === 200, 30_000, "no heartbeat.json served from the media folder");
    const schedule = await server.container.exec(["sh", "-c", "ls /var/lib/tsosi_celery_beat/; ls /var/www/current/backend/ | grep -c celerybeat || true"]);
    assert.match(schedule.out, /^celerybeat-schedule/m);
    assert.match(schedule.out, /^0$/m, "no schedule file in the release");
    const second = await server.commit("second release");
    releases.push(second);
    const run = await deploy();
    assert.equal(run.code, 0, run.out + run.err);
    const starts = (await server.journal("tsosi_celery_beat.service")).split("\n").filter((l) => /^Started tsosi_celery_beat\.service/.test(l));
    assert.equal(starts.length, 2, `beat started ${starts.length} times in two deploys:\n${starts.join("\n")}`);
    await apiAnswers();
  });

  it("gen rollback goes back to the release before, restarts it and names it", async () => {
    const before = await live();
    const run = await server.gen(["rollback", ENV, "--yes"]);
    assert.equal(run.code, 0, run.out + run.err);
    const now = await live();
    assert.notEqual(now, before);
    assert.ok((run.out + run.err).includes(now), run.out + run.err);
    const where = await server.request("/api/release/");
    assert.equal(where.status, 200, where.body);
    assert.ok(where.body.includes(now), `Gunicorn runs ${where.body}, not ${now}`);
  });

  it("a release that raises on import is switched back, with the reason from the unit's journal", async () => {
    const before = await live();
    // Only Gunicorn imports the WSGI module: the release's tasks (migrate) still run.
    const wsgi = join(server.project, "backend/backend_site/wsgi.py");
    const good = readFileSync(wsgi, "utf8");
    writeFileSync(wsgi, `${good}\nraise RuntimeError("broken on purpose at import")\n`);
    await server.commit("a release that cannot start");
    const { result: run, load } = await server.underLoad(deploy, { longEvery: 0 });
    writeFileSync(wsgi, good);
    const said = run.out + run.err;
    assert.equal(run.code, 1, said);
    // Gunicorn imports the release before it says it is ready: the second Gunicorn fails to start, the one that
    // serves the live release is never stopped, and not one request fails.
    assert.match(said, /deploy failed on 127\.0\.0\.1 at step 7: `sudo \/usr\/bin\/systemctl restart tsosi_gunicorn .*` failed/);
    assert.match(said, /tsosi_gunicorn_handover\.service: Main process exited/);
    assert.match(said, /broken on purpose at import/);
    assert.match(said, /switched back to /);
    assert.deepEqual(load.failed, [], `${load.failed.length} of ${load.requests} requests failed while the broken release was tried`);
    assert.equal(await live(), before);
    await apiAnswers();
  });

  it("after a switched-back deploy, rollback and prune never take the bad release as the previous one", async () => {
    await server.commit("good again");
    const run = await deploy();
    assert.equal(run.code, 0, run.out + run.err);
    const log = await server.container.exec(["cat", "/var/www/releases/releases.log"]);
    const bad = log.out
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { release: string; result: string })
      .filter((e) => e.result === "rolled-back")
      .map((e) => e.release);
    assert.equal(bad.length, 1, log.out);
    const back = await server.gen(["rollback", ENV, "--yes"]);
    assert.equal(back.code, 0, back.out + back.err);
    assert.notEqual(await live(), bad[0], "rolled back to the release that was switched back");
    assert.match(back.out + back.err, new RegExp(`skipping ${bad[0]} \\(rolled back\\)`));
    await apiAnswers();
  });

  it("pruning keeps the release the worker still runs in (--celery-no-restart) and the previous good one", async () => {
    const workerCwd = async () => {
      const pid = (await server.systemctl("show", "-p", "MainPID", "--value", "tsosi_celery.service")).out.trim();
      return (await server.container.exec(["readlink", `/proc/${pid}/cwd`])).out.trim();
    };
    const workerRelease = (await workerCwd()).split("/").at(-2)!;
    server.writeEnv({ release: { keep: 2 } });
    for (const title of ["without restarting celery", "again without restarting celery"]) {
      await server.commit(title);
      const run = await deploy("--celery-no-restart");
      assert.equal(run.code, 0, run.out + run.err);
    }
    server.writeEnv();
    const folders = (await server.container.exec(["ls", "/var/www/releases"])).out.split("\n").filter((f) => /^\d{8}T\d{6}Z$/.test(f));
    assert.ok(folders.includes(workerRelease), `pruning removed ${workerRelease}, where the worker runs: left ${folders.join(", ")}`);
    assert.equal(folders.length, 3, `kept ${folders.join(", ")}: the two newest and the worker's`);
    assert.equal((await workerCwd()).split("/").at(-2), workerRelease);
    const check = await server.gen(["check", ENV]);
    assert.equal(check.code, 0, check.out + check.err);
  });

  it("an apply whose new unit fails is undone: the old site is still served, the new unit and its file are gone", async () => {
    server.writeEnv({
      nginx: { clientMaxBodySize: "8m" },
      files: [{ path: "/etc/systemd/system/tsosi_extra.service", template: "failing.service.njk", restart: ["tsosi_extra"] }],
    });
    const site = () => readFileSync(join(server.container.root, "etc/nginx/sites-available/tsosi-app"), "utf8");
    const before = site();
    const run = await server.gen(["apply", ENV, "--yes"]);
    server.writeEnv();
    assert.equal(run.code, 1, run.out + run.err);
    assert.match(run.err, /every file of this apply was restored and its service changes undone/);
    assert.equal(site(), before);
    assert.deepEqual(
      (await unitFiles()).filter((f) => f.includes("extra")),
      [],
    );
    assert.equal((await server.systemctl("list-units", "--all", "--no-legend", "tsosi_extra*")).out.trim(), "");
    for (const unit of UNITS) assert.equal(await state(unit), "active", unit);
    await apiAnswers();
    const diff = await server.gen(["diff", ENV]);
    assert.equal(diff.code, 0, diff.out + diff.err);
  });

  it("after a reboot the enabled units are back, gen diff is clean and gen check passes", async () => {
    await server.container.reboot();
    for (const unit of ["tsosi_gunicorn.socket", "tsosi_celery.service", "tsosi_celery_beat.service"]) assert.equal(await state(unit), "active", unit);
    await apiAnswers();
    const diff = await server.gen(["diff", ENV]);
    assert.equal(diff.code, 0, diff.out + diff.err);
    const check = await server.gen(["check", ENV]);
    assert.equal(check.code, 0, check.out + check.err);
  });

  it("logrotate -f rotates the application's logs as the deploy user", async () => {
    const run = await server.container.exec(["logrotate", "-f", "/etc/logrotate.d/tsosi"]);
    assert.equal(run.code, 0, run.err);
    const rotated = await server.container.exec(["find", "/var/log/tsosi", "-name", "*.log.1.gz", "-user", "deployer"]);
    assert.notEqual(rotated.out.trim(), "", (await server.container.exec(["ls", "-la", "/var/log/tsosi"])).out);
  });
});

async function waitFor(probe: () => Promise<boolean>, ms: number, message: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
