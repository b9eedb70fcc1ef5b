// gen deploy, gen releases and gen rollback end to end: the real CLI parser, a real OpenSSH server on 127.0.0.1
// over a fake root, a sample application in a local git repository (cloned on the "server" by path) and a
// systemctl stand-in that records every call. Each test has its own server and stops it, also on failure.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir, userInfo } from "node:os";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { deployRelease, type DeployResult, type StepReporter } from "../../src/release/deploy-release.js";
import { listBuildOutput } from "../../src/release/frontend.js";
import { readCommit } from "../../src/release/local-checks.js";
import type { Interrupt } from "../../src/interrupt.js";
import {
  afterRelease,
  BOOT_FAILS_FILE,
  CELERY_UNIT,
  CURRENT,
  ENV_NAME,
  GUNICORN_UNIT,
  openServerInProcess,
  RELEASES,
  releaseIdAt,
  RESTARTS,
  WEB_RESTARTS,
  SETTINGS,
  STATUS_FILE,
  snapshotTree,
  STATE_DIR,
  withDeployServer,
  type DeployServer,
} from "./deploy-support/deploy-server.js";
import { addMigration, AUTHOR } from "./deploy-support/sample-app.js";
import { assertJsonOutput } from "../support/json-output.js";
import { testCacheHome } from "../support/test-cache-home.js";

const RELEASE_ID = /^\d{8}T\d{6}Z$/;
/** The gen binary as built, for a deploy that is killed (runGen runs in this process). */
const GEN_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const WHO = `${userInfo().username}@${hostname()}`;

/** Deploys and checks it worked; returns the new release id. */
async function deployed(server: DeployServer, ...extra: string[]): Promise<string> {
  const run = await server.deploy(...extra);
  assert.equal(run.code, 0, run.all);
  const live = await server.live();
  assert.match(live, RELEASE_ID);
  return live;
}

/** Files under `dir`, relative and sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Reads `current` and files inside it as fast as it can until stopped; every read must find a whole release. */
function watchCurrent(server: DeployServer) {
  const current = server.file(CURRENT);
  const state = { reads: 0, failures: [] as string[], seen: new Set<string>(), stopped: false };
  const loop = (async () => {
    while (!state.stopped) {
      try {
        const target = await readlink(current);
        if (!/(^|\/)releases\/\d{8}T\d{6}Z$/.test(target)) state.failures.push(`current -> ${target}`);
        await stat(join(current, "backend/manage.py"));
        JSON.parse(await readFile(join(current, "public/deployment.json"), "utf8"));
        state.seen.add(target.split("/").pop()!);
      } catch (error) {
        state.failures.push(String(error));
      }
      state.reads++;
      await nextTurn();
    }
  })();
  const stop = async () => {
    state.stopped = true;
    await loop;
    return state;
  };
  return { state, stop };
}

const lockGone = async (server: DeployServer) =>
  assert.equal(await lstat(server.file(`${STATE_DIR}/locks/lock`)).catch(() => undefined), undefined, "the lock was left behind");

describe("gen deploy, releases and rollback over SSH", { concurrency: 4 }, () => {
  it("deploys a release: backend only, install and tasks in order, settings link, front end, deployment.json, restarts, timed steps", () =>
    withDeployServer(async (server) => {
      const before = new Date();
      const run = await server.deploy();
      const after = new Date();
      assert.equal(run.code, 0, run.all);

      const target = await readlink(server.file(CURRENT));
      const id = target.split("/").pop()!;
      assert.match(target, /^(\/.*\/)?releases\/\d{8}T\d{6}Z$/);
      assert.ok(id >= releaseIdAt(before) && id <= releaseIdAt(after), `release ${id} is not the UTC time of the deploy`);
      assert.equal(await realpath(server.file(CURRENT)), await realpath(server.file(`${RELEASES}/${id}`)));
      assert.deepEqual(await server.releases(), [id]);

      const release = server.file(`${RELEASES}/${id}`);
      assert.deepEqual((await readdir(release)).sort(), ["backend", "public"], "only backend/ of the repository, and public/");
      assert.deepEqual((await readdir(join(release, "backend"))).sort(), ["backend_site", "installed.txt", "manage.py", "tasks.log"]);
      assert.equal(await readFile(join(release, "backend/manage.py"), "utf8"), await readFile(join(server.app.checkout, "backend/manage.py"), "utf8"));
      assert.equal(await readFile(join(release, "backend/installed.txt"), "utf8"), "installed\n");
      assert.equal(await readFile(join(release, "backend/tasks.log"), "utf8"), "collectstatic\nmigrate\n");

      const link = join(release, "backend/backend_site/settings_local.py");
      assert.ok((await lstat(link)).isSymbolicLink(), "settings_local.py is a link");
      assert.equal(await realpath(link), await realpath(server.file(SETTINGS)), "the link points at the applied config file");
      assert.match(await readFile(link, "utf8"), /^SECRET_KEY = /m);

      const dist = join(server.app.checkout, "frontend/dist");
      const built = await filesUnder(dist);
      assert.equal(built.length, 301);
      assert.deepEqual(await filesUnder(join(release, "public")), [...built, "deployment.json"].sort());
      for (const file of built)
        assert.ok((await readFile(join(release, "public", file))).equals(await readFile(join(dist, file))), `public/${file} differs from the build`);

      const deployment = JSON.parse(await readFile(join(release, "public/deployment.json"), "utf8")) as Record<string, string>;
      assert.equal(deployment.hash, await server.app.git("rev-parse", "HEAD"));
      assert.equal(deployment.author, AUTHOR.email);
      assert.equal(deployment.title, "First version of the sample app");
      assert.equal(deployment.branch, "main");
      assert.equal(deployment.deployedBy, undefined, "who deployed is not published");
      const log = await releaseLog(server);
      assert.deepEqual(
        log.map((e) => [e.who, e.command, e.release, e.commit, e.result]),
        [[WHO, "deploy", id, deployment.hash, "deployed"]],
      );
      const at = Date.parse(deployment.deployedAt ?? "");
      assert.ok(at >= before.getTime() && at <= after.getTime(), `deployedAt ${deployment.deployedAt}`);

      assert.deepEqual((await server.recorded()).slice(-RESTARTS.length), RESTARTS, "restarts after the switch, in order");
      assert.match(
        run.err,
        sudoLines(["restart tsosi_gunicorn (tsosi_gunicorn_handover answers meanwhile)", "reload nginx", "restart tsosi_celery", "start tsosi_celery_beat"]),
      );
      for (let step = 4; step <= 9; step++) assert.match(run.err, new RegExp(`^\\[${step}/9\\] \\d+\\.\\d s$`, "m"), `step ${step} timed`);
      assert.match(run.err, new RegExp(`^\\[5/9\\] build release ${id}$`, "m"));
      for (const title of ["[7/9] restart services", "[8/9] smoke checks", "[9/9] keep 3 releases"]) assert.ok(run.err.split("\n").includes(title), title);
      assert.match(run.err, /^ {4}uploaded 301 front-end files$/m);
      assert.match(run.out, new RegExp(`^127\\.0\\.0\\.1: release ${id} is live$`, "m"));
      await lockGone(server);
    }));

  it("switches current atomically: a reader never finds it missing or half-made during a deploy", (t) =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await afterRelease(first);
      const watch = watchCurrent(server);
      const run = await server.deploy();
      const state = await watch.stop();
      assert.equal(run.code, 0, run.all);
      const second = await server.live();
      assert.notEqual(second, first);
      t.diagnostic(`${state.reads} reads of current during the deploy`);
      assert.ok(state.reads > 0, "the reader ran");
      assert.deepEqual(state.failures, [], `${state.failures.length} of ${state.reads} reads failed`);
      assert.deepEqual([...state.seen].sort(), [first, second], "the reader saw the switch");
    }));

  it("keeps the newest 3 releases, never deleting the live one or the one before it", () =>
    withDeployServer(async (server) => {
      const ids: string[] = [];
      let last: { out: string } = { out: "" };
      for (let i = 0; i < 4; i++) {
        if (ids.length) await afterRelease(ids.at(-1)!);
        const run = await server.deploy();
        assert.equal(run.code, 0, run.all);
        ids.push(await server.live());
        const releases = await server.releases();
        assert.ok(releases.includes(ids.at(-1)!) && (i === 0 || releases.includes(ids.at(-2)!)), `after deploy ${i + 1}: ${releases.join(", ")}`);
        last = run;
      }
      assert.equal(new Set(ids).size, 4);
      assert.deepEqual(await server.releases(), ids.slice(1));
      assert.equal(await server.live(), ids[3]);
      assert.match(last.out, new RegExp(`removed ${ids[0]}$`, "m"));
    }));

  it("removes a release left unfinished by a killed deploy at the next deploy, never counting it toward release.keep", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      const control = await mkdtemp(join(tmpdir(), "gen-killed-deploy-"));
      const started = join(control, "building");
      const go = join(control, "go");
      let child: ChildProcess | undefined;
      try {
        // The release's backend is cloned; the install waits here until the deploy is killed. sshd does not stop a
        // command whose client went away, so the wait also ends when the control folder is removed.
        await server.writeEnv({
          release: { install: [["sh", "-c", `touch '${started}'; while [ ! -f '${go}' ] && [ -d '${control}' ]; do sleep 0.1; done`]] },
        });
        await afterRelease(first);
        child = spawn(
          process.execPath,
          [
            GEN_MAIN,
            "deploy",
            ENV_NAME,
            "--yes",
            "--repo",
            server.app.checkout,
            "--environments",
            server.envDir,
            "--known-hosts",
            server.sshd.knownHostsPath,
            "--identity",
            server.sshd.clientKeyPath,
          ],
          { stdio: "ignore", env: { ...process.env, XDG_CACHE_HOME: testCacheHome() } },
        );
        const exited = new Promise((resolve) => child!.once("exit", resolve));
        while (!existsSync(started)) {
          assert.equal(child.exitCode, null, "the deploy ended before it was killed");
          await delay(50);
        }
        child.kill("SIGKILL");
        await exited;
      } finally {
        child?.kill("SIGKILL");
        await writeFile(go, "").catch(() => {});
      }
      const unfinished = (await server.releases()).filter((id) => id !== first);
      assert.equal(unfinished.length, 1, `releases: ${(await server.releases()).join(", ")}`);
      assert.ok(existsSync(server.file(`${RELEASES}/${unfinished[0]}/backend`)), "the killed deploy had cloned the backend");
      assert.equal(existsSync(server.file(`${RELEASES}/${unfinished[0]}/public/deployment.json`)), false);
      assert.equal(await server.live(), first);
      await rm(control, { recursive: true, force: true });

      await server.writeEnv();
      await afterRelease(unfinished[0]!);
      const second = await deployed(server);
      assert.deepEqual(await server.releases(), [first, second], "the unfinished release is removed by the next deploy");
      const ids = [first, second];
      for (let i = 0; i < 2; i++) {
        await afterRelease(ids.at(-1)!);
        ids.push(await deployed(server));
      }
      assert.deepEqual(await server.releases(), ids.slice(-3), "release.keep counts finished releases only");
    }));

  it("warns and exits 1 when old releases cannot be removed after a good release, which is live and logged deployed", () =>
    withDeployServer(async (server) => {
      const ids = [await deployed(server)];
      for (let i = 0; i < 2; i++) {
        await afterRelease(ids.at(-1)!);
        ids.push(await deployed(server));
      }
      // A file nobody can remove, root included (chattr +i): the rm -rf of the oldest release fails.
      const stuck = server.file(`${RELEASES}/${ids[0]}/backend/manage.py`);
      const immutable = (on: boolean) => execFileSync("chattr", [on ? "+i" : "-i", stuck]);
      immutable(true);
      let stuckNow = true;
      try {
        assert.match(execFileSync("lsattr", [stuck], { encoding: "utf8" }), /^\S*i\S* /, `the test needs chattr +i to work on ${stuck}`);
        await afterRelease(ids.at(-1)!);
        const run = await server.deploy();
        assert.equal(run.code, 1, run.all);
        const fourth = await server.live();
        assert.ok(fourth > ids.at(-1)!, `the new release ${fourth} is live`);
        assert.match(run.out, new RegExp(`^127\\.0\\.0\\.1: release ${fourth} is live \\(previous: ${ids[2]}\\)$`, "m"));
        assert.match(
          run.err,
          /^warning: 127\.0\.0\.1: could not remove the old releases in \/var\/www\/releases: removing old releases failed on .* \(exit 1\)$/m,
        );
        assert.match(run.err, /^ {2}rm: cannot remove '.*manage\.py': Operation not permitted$/m);
        assert.match(run.err, /^ {2}the next deploy removes them again$/m);
        assert.doesNotMatch(run.err, /deploy failed/);
        assert.deepEqual(await server.releases(), [...ids, fourth], "the oldest release is still there");
        assert.deepEqual((await server.recorded()).slice(-RESTARTS.length), RESTARTS, "the new release was restarted");
        const last = (await releaseLog(server)).at(-1)!;
        assert.deepEqual([last.release, last.result, last.error], [fourth, "deployed", undefined], "it counts as a good release");
        await lockGone(server);

        // --json: deployed, with the warning; the other old release is removed, the stuck one is not.
        await afterRelease(fourth);
        const json = await server.deploy("--json");
        assert.equal(json.code, 1, json.all);
        const fifth = await server.live();
        const [host] = assertJsonOutput<{ hosts: { outcome: string; removedReleases: string[]; warnings: { what: string; path: string }[] }[] }>(
          "deploy",
          json.out,
        ).hosts;
        assert.deepEqual([host!.outcome, host!.removedReleases, host!.warnings.map((w) => [w.what, w.path])], ["deployed", [], [["prune", RELEASES]]]);
        assert.deepEqual(await server.releases(), [ids[0], ids[2], fourth, fifth]);
        assert.ok(!Object.keys(host!).includes("keptInUse"), "no release was kept for a process still in it");

        immutable(false);
        stuckNow = false;
        await afterRelease(fifth);
        const sixth = await deployed(server);
        assert.deepEqual(await server.releases(), [fourth, fifth, sixth], "the next deploy prunes what was left");
      } finally {
        if (stuckNow) immutable(false);
      }
    }));

  it("leaves current as it was and no release folder behind when a task fails", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await server.writeEnv({
        release: {
          tasks: [
            ["sh", "-c", "echo collectstatic >> tasks.log"],
            ["sh", "-c", "echo 'migrate: no database' >&2; exit 3"],
          ],
        },
      });
      await server.clearRecorded();
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.equal(await server.live(), first);
      assert.deepEqual(await server.releases(), [first]);
      assert.match(run.err, /deploy failed on 127\.0\.0\.1 at step 5: `sh -c echo 'migrate: no database' >&2; exit 3` failed \(exit 3\)/);
      assert.match(run.err, /migrate: no database/);
      assert.deepEqual(await server.recorded(), [], "nothing restarted");
      await lockGone(server);

      const json = await server.deploy("--json");
      assert.equal(json.code, 1, json.all);
      assertFailedAt(json, 5, /exit 3/);
      assert.match(json.err, /\[5\/9\]/, "progress goes to standard error");
    }));

  it("removes the new release and leaves current as it was when deployment.json cannot be written (a folder in its place)", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      // A release task runs as the deploy user in the release, which it may fill as it likes.
      const planted = "if [ -d public ]; then mkdir public/deployment.json; else mkdir ../public/deployment.json; fi";
      await server.writeEnv({ release: { tasks: [["sh", "-c", planted]] } });
      await server.clearRecorded();
      await afterRelease(first);
      const run = await server.deploy("--json");
      assert.equal(run.code, 1, run.all);
      assertFailedAt(run, 5, /deployment\.json/);
      assert.equal(await server.live(), first);
      assert.deepEqual(await server.releases(), [first], "the release that never went live is removed");
      assert.deepEqual(await server.recorded(), [], "nothing restarted");
      await lockGone(server);
    }));

  it("removes the new release and leaves current as it was when the switch fails (a folder where its new link goes)", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      // The deploy user's folder holds what it likes: a folder where the switch makes its link, which mv -T cannot
      // put over the `current` link.
      await mkdir(join(server.file(`${CURRENT}.gen-next`), "planted"), { recursive: true });
      await server.clearRecorded();
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /deploy failed on 127\.0\.0\.1 at step 6: switching \/var\/www\/current to \d{8}T\d{6}Z failed/);
      assert.equal(await server.live(), first);
      assert.deepEqual(await server.releases(), [first], "the release that never went live is removed");
      assert.deepEqual(await server.recorded(), [], "nothing restarted");
      await lockGone(server);
    }));

  it("switches back to the previous release and restarts again when a restart fails", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await server.clearRecorded();
      await server.failOn("restart tsosi_celery");
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.equal(await server.live(), first, "current points at the previous release again");
      assert.match(run.err, new RegExp(`at step 7: .*restart tsosi_celery\` failed \\(exit 1\\); switched back to ${first}`));
      // The failed restart is tried again on the release switched back to, and fails again (failOn still holds): said, not thrown.
      const web = ["restart tsosi_gunicorn (tsosi_gunicorn_handover answers meanwhile)", "reload nginx"];
      assert.match(run.err, sudoLines([...web, "restart tsosi_celery"], `restart failed: switching back to ${first}`));
      assert.match(run.err, new RegExp(`^ {4}restarting ${first} failed too: \`sudo \\S+/systemctl restart tsosi_celery\` failed \\(exit 1\\)$`, "m"));
      const recorded = await server.recorded();
      const failed = recorded.indexOf("restart tsosi_celery");
      assert.deepEqual(recorded.slice(0, failed + 1), [...WEB_RESTARTS, "restart tsosi_celery"]);
      assert.deepEqual(recorded.slice(failed + 1, failed + 1 + WEB_RESTARTS.length), WEB_RESTARTS, `restarted after switching back: ${recorded.join("; ")}`);
      await lockGone(server);
    }));

  it("fails at the restart of the very first release without switching back: there is no release to go back to", () =>
    withDeployServer(async (server) => {
      await server.failOn("restart tsosi_celery");
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      const first = await server.live();
      assert.match(first, RELEASE_ID);
      assert.match(run.err, /^deploy failed on 127\.0\.0\.1 at step 7: `sudo \S+\/systemctl restart tsosi_celery` failed \(exit 1\)$/m);
      assert.doesNotMatch(run.err, /switching back|switched back/);
      assert.deepEqual((await server.recorded()).slice(-WEB_RESTARTS.length - 1), [...WEB_RESTARTS, "restart tsosi_celery"], "nothing restarted again");
      await lockGone(server);
    }));

  it("asks Celery again until its worker answers ping: systemctl restart of a Type=forking unit returns before it connects", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await server.startSeconds(CELERY_UNIT, 3);
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 0, run.all);
      assert.notEqual(await server.live(), first, "the new release stays live");
      assert.match(run.err, /^ {4}ok {3}celery: answered ping$/m);
    }));

  it("switches back at once when the new release's Gunicorn worker fails to boot, naming it with the unit's journal as inert text", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      const marker = server.file("/tmp/journal-ran");
      const journal = [
        "Dec 01 12:00:00 web gunicorn[812]: ModuleNotFoundError: No module named 'missing'",
        `Dec 01 12:00:00 web gunicorn[812]: $(touch ${marker}) \u001b]0;owned\u0007\u001b[2J`,
        "Dec 01 12:00:00 web gunicorn[800]: [ERROR] Worker failed to boot.",
      ].join("\n");
      await writeFile(join(server.app.checkout, BOOT_FAILS_FILE), `${journal}\n`);
      await server.app.commit("A release that raises on import");
      await server.writeEnv({ checks: { timeoutSeconds: 40 } });
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.equal(await server.live(), first, "switched back to the release live before");
      const seconds = Number(/^\[8\/9\] (\d+\.\d) s$/m.exec(run.err)?.[1]);
      assert.ok(seconds < 20, `the smoke checks took ${seconds} s of their 40: they waited for a unit that had failed`);
      assert.match(
        run.err,
        /deploy failed on 127\.0\.0\.1 at step 8: smoke check failed: gunicorn: no answer from \/run\/tsosi_gunicorn\.sock \(Host: tsosi\.localhost, \/api\/\); tsosi_gunicorn\.service failed: worker failed to boot \(exit status 3, result exit-code\); switched back to /,
      );
      assert.match(run.err, /^ {2}gunicorn journal \| Dec 01 12:00:00 web gunicorn\[800\]: \[ERROR\] Worker failed to boot\.$/m);
      assert.ok(run.err.includes("\\x1b]0;owned\\x07\\x1b[2J"), `control characters shown escaped: ${run.err}`);
      assert.equal(existsSync(marker), false, "nothing in the journal ran");
      assert.ok((await server.queried()).includes(`status ${GUNICORN_UNIT}`), "the journal came from systemctl status, as the sudoers rule allows it");
      await lockGone(server);
    }));

  it("rolls back to the previous release, to a named one with --to, and refuses an unknown one", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await afterRelease(first);
      const second = await deployed(server);
      await server.clearRecorded();

      const back = await server.gen(["rollback", ENV_NAME]);
      assert.equal(back.code, 0, back.all);
      assert.equal(await server.live(), first);
      assert.deepEqual(await server.recorded(), RESTARTS);
      assert.match(back.out, new RegExp(`${second} -> ${first} is live`));

      const log = await releaseLog(server);
      assert.deepEqual(log.map((e) => [e.who, e.command, e.release, e.result]).slice(-1), [[WHO, "rollback", first, "switched"]]);

      const to = await server.gen(["rollback", ENV_NAME, "--to", second]);
      assert.equal(to.code, 0, to.all);
      assert.equal(await server.live(), second);

      await server.clearRecorded();
      const nope = await server.gen(["rollback", ENV_NAME, "--to", "nope"]);
      assert.equal(nope.code, 1, nope.all);
      assert.match(nope.err, /no release nope on .*; releases: /);
      assert.equal(await server.live(), second);
      assert.deepEqual(await server.recorded(), []);
      await lockGone(server);

      const json = await server.gen(["rollback", ENV_NAME, "--to", first, "--json"]);
      assert.equal(json.code, 0, json.all);
      const result = assertJsonOutput<{ hosts: { ok: boolean; from: string; to: string }[] }>("rollback", json.out);
      assert.deepEqual(
        result.hosts.map((h) => [h.ok, h.from, h.to]),
        [[true, second, first]],
      );
    }));

  it("never takes a release switched back or rolled back from for the previous one: deploy names it, pruning keeps it, rollback goes to it", () =>
    withDeployServer(async (server) => {
      const good = await deployed(server);
      await writeFile(join(server.app.checkout, STATUS_FILE), "500\n");
      await server.app.commit("A release that answers 500");
      const bad: string[] = [];
      for (let i = 0; i < 3; i++) {
        await afterRelease(bad.at(-1) ?? good);
        const run = await server.deploy();
        assert.equal(run.code, 1, run.all);
        assert.match(run.err, new RegExp(`answered 500; switched back to ${good}$`, "m"));
        bad.push((await server.releases()).at(-1)!);
      }
      await rm(join(server.app.checkout, STATUS_FILE));
      await server.app.commit("Fixed");
      await afterRelease(bad.at(-1)!);
      const fixedRun = await server.deploy();
      assert.equal(fixedRun.code, 0, fixedRun.all);
      const fixed = await server.live();
      // release.keep 3 keeps the newest three, and the good release before the live one on top.
      assert.match(fixedRun.out, new RegExp(`^127\\.0\\.0\\.1: release ${fixed} is live \\(previous: ${good}\\); removed ${bad[0]}$`, "m"));
      assert.deepEqual(await server.releases(), [good, bad[1], bad[2], fixed]);

      const back = await server.gen(["rollback", ENV_NAME]);
      assert.equal(back.code, 0, back.all);
      assert.equal(await server.live(), good);
      assert.match(back.out, new RegExp(`^127\\.0\\.0\\.1: skipping ${bad[2]} \\(rolled back\\)\n127\\.0\\.0\\.1: skipping ${bad[1]} \\(rolled back\\)$`, "m"));
      assert.match(back.out, new RegExp(`^127\\.0\\.0\\.1: ${fixed} -> ${good} is live;`, "m"));

      // The release an operator rolled back from is not the previous one either.
      await afterRelease(fixed);
      const nextRun = await server.deploy();
      assert.equal(nextRun.code, 0, nextRun.all);
      const next = await server.live();
      assert.match(nextRun.out, new RegExp(`release ${next} is live \\(previous: ${good}\\); removed ${bad[1]}$`, "m"));
      const list = await server.gen(["releases", ENV_NAME, "--json"]);
      assert.equal(list.code, 0, list.all);
      const listed = assertJsonOutput<{ hosts: { releases: { id: string; status: string }[] }[] }>("releases", list.out);
      assert.deepEqual(
        listed.hosts[0]!.releases.map((r) => `${r.id} ${r.status}`),
        [`${good} good`, `${bad[2]} rolled-back`, `${fixed} rolled-back`, `${next} good`],
      );

      // Named with --to, a release known bad is the operator's call: said with why, and done.
      const to = await server.gen(["rollback", ENV_NAME, "--to", bad[2]!, "--json"]);
      assert.equal(to.code, 0, to.all);
      assert.equal(await server.live(), bad[2]);
      assert.match(
        to.err,
        new RegExp(
          `^127\\.0\\.0\\.1: warning: ${bad[2]} is rolled back \\(its deploy at \\S+ by ${WHO}: rolled-back: smoke check failed: gunicorn: .* answered 500\\); switching to it as asked$`,
          "m",
        ),
      );
      const result = assertJsonOutput<{ hosts: { to: string; skipped: unknown[]; targetStatus: string }[] }>("rollback", to.out);
      assert.deepEqual(
        result.hosts.map((h) => [h.to, h.skipped, h.targetStatus]),
        [[bad[2], [], "rolled-back"]],
      );
      const text = await server.gen(["releases", ENV_NAME]);
      assert.match(text.out, new RegExp(`^  ${fixed}  main .*\\)  \\[rolled back\\]$`, "m"));
      assert.match(text.out, new RegExp(`^\\* ${bad[2]}  main .*\\)$`, "m"), "switched to and restarted: good again");
    }));

  it("keeps the release a worker left running by --celery-no-restart still works in, past release.keep", () =>
    withDeployServer(async (server) => {
      await server.writeEnv({ release: { keep: 2 } });
      const first = await deployed(server);
      // systemd starts the worker in current/backend: its working folder is the release the link led to then.
      const worker = spawn("sleep", ["300"], { cwd: server.file(`${CURRENT}/backend`), stdio: "ignore" });
      let third = "";
      try {
        await new Promise((resolve) => worker.once("spawn", resolve));
        await afterRelease(first);
        const second = await deployed(server, "--celery-no-restart");
        await afterRelease(second);
        const run = await server.deploy("--celery-no-restart");
        assert.equal(run.code, 0, run.all);
        third = await server.live();
        assert.deepEqual(await server.releases(), [first, second, third]);
        assert.match(run.out, new RegExp(`release ${third} is live \\(previous: ${second}\\); kept ${first} \\(in use by pid ${worker.pid}\\)$`, "m"));
        const list = await server.gen(["releases", ENV_NAME]);
        assert.match(list.out, new RegExp(`^  ${first}  .*  \\[in use by pid ${worker.pid}\\]$`, "m"));
      } finally {
        worker.kill();
      }
      await delay(100);
      await afterRelease(third);
      const fourth = await deployed(server);
      assert.deepEqual(await server.releases(), [third, fourth], "once the worker is gone, the next deploy prunes its release");
    }));

  it("records each release's applied migrations; releases shows them; rollback names what the target does not know with the undo commands and asks first", () =>
    withDeployServer(async (server) => {
      const showmigrations = ["python3", "manage.py", "showmigrations", "--plan"];
      await server.writeEnv({ release: { migrations: showmigrations } });
      await addMigration(server.app, "core", "0001_initial");
      await addMigration(server.app, "core", "0002_badge");
      await addMigration(server.app, "ledger", "0001_initial");
      await server.app.commit("Core and ledger migrations");
      const first = await deployed(server);
      await addMigration(server.app, "core", "0003_scipost");
      await addMigration(server.app, "blog", "0001_initial");
      await server.app.commit("A core migration and a new app");
      await afterRelease(first);
      const second = await deployed(server);

      const recorded = JSON.parse(await readFile(server.file(`${RELEASES}/${second}/migrations.json`), "utf8")) as { applied: { app: string; name: string }[] };
      assert.deepEqual(
        recorded.applied.map((m) => `${m.app}.${m.name}`),
        ["blog.0001_initial", "core.0001_initial", "core.0002_badge", "core.0003_scipost", "ledger.0001_initial"],
      );
      assert.equal(existsSync(server.file(`${RELEASES}/${second}/public/migrations.json`)), false, "not public");

      const list = await server.gen(["releases", ENV_NAME]);
      assert.equal(list.code, 0, list.all);
      assert.match(list.out, new RegExp(`  ${first} .*\n    migrations: core 2 \\(last 0002_badge\\), ledger 1 \\(last 0001_initial\\)\n`));
      assert.match(
        list.out,
        new RegExp(`\\* ${second} .*\n    migrations: blog 1 \\(last 0001_initial\\), core 3 \\(last 0003_scipost\\), ledger 1 \\(last 0001_initial\\)`),
      );
      const json = await server.gen(["releases", ENV_NAME, "--json"]);
      assert.equal(json.code, 0, json.all);
      const listed = assertJsonOutput<{ hosts: { releases: { id: string; migrations?: { app: string; name: string }[] }[] }[] }>("releases", json.out);
      assert.deepEqual(
        listed.hosts[0]!.releases.find((r) => r.id === first)?.migrations?.map((m) => `${m.app}.${m.name}`),
        ["core.0001_initial", "core.0002_badge", "ledger.0001_initial"],
      );

      // No terminal and no --yes: refused before anything changed.
      await server.clearRecorded();
      const logBefore = await readFile(server.file(`${RELEASES}/releases.log`), "utf8");
      const refused = await server.gen(["rollback", ENV_NAME]);
      assert.equal(refused.code, 1, refused.all);
      assert.match(refused.err, /refusing to roll back to .* without confirmation: no terminal to ask on; pass --yes/);
      assert.match(refused.out, /core: 0003_scipost/);
      assert.equal(await server.live(), second);
      assert.deepEqual(await server.recorded(), []);
      assert.equal(await readFile(server.file(`${RELEASES}/releases.log`), "utf8"), logBefore);
      await lockGone(server);

      const backend = `${RELEASES}/${second}/backend`;
      const yes = await server.gen(["rollback", ENV_NAME, "--yes"]);
      assert.equal(yes.code, 0, yes.all);
      assert.equal(await server.live(), first);
      assert.match(yes.out, new RegExp(`${second} applied migrations that ${first} does not know`));
      assert.match(yes.out, /^ {2}core: 0003_scipost$/m);
      assert.match(yes.out, /^ {2}blog: 0001_initial$/m);
      const undo = yes.out.split("\n").filter((l) => l.startsWith("  cd "));
      assert.deepEqual(undo, [`  cd ${backend} && python3 manage.py migrate core 0002_badge`, `  cd ${backend} && python3 manage.py migrate blog zero`]);
      assert.deepEqual(await server.recorded(), RESTARTS);

      // Forward again: the target knows everything the live release applied, so nothing to undo and no question.
      const forward = await server.gen(["rollback", ENV_NAME, "--to", second, "--json"]);
      assert.equal(forward.code, 0, forward.all);
      const result = assertJsonOutput<{ hosts: { to: string; undoMigrations: unknown[] }[] }>("rollback", forward.out);
      assert.deepEqual(
        result.hosts.map((h) => [h.to, h.undoMigrations]),
        [[second, []]],
      );
    }));

  it("lists the releases with their deployment.json and marks the live one with *", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      const firstHash = await server.app.git("rev-parse", "HEAD");
      await writeFile(join(server.app.checkout, "backend/manage.py"), "print('second')\n");
      const secondHash = await server.app.commit("Second version");
      await afterRelease(first);
      const second = await deployed(server);

      const run = await server.gen(["releases", ENV_NAME]);
      assert.equal(run.code, 0, run.all);
      const lines = run.out.split("\n");
      assert.equal(lines.length, 2, run.out);
      assert.match(lines[0]!, new RegExp(`^  ${first}  main ${firstHash.slice(0, 12)} First version of the sample app \\(deployed \\S+ by ${WHO}\\)$`));
      assert.match(lines[1]!, new RegExp(`^\\* ${second}  main ${secondHash.slice(0, 12)} Second version \\(deployed \\S+ by ${WHO}\\)$`));

      const json = await server.gen(["releases", ENV_NAME, "--json"]);
      assert.equal(json.code, 0, json.all);
      const listed = assertJsonOutput<{ hosts: { releases: { id: string; live: boolean }[] }[] }>("releases", json.out);
      assert.deepEqual(
        listed.hosts[0]!.releases.map((r) => [r.id, r.live]),
        [
          [first, false],
          [second, true],
        ],
      );

      // The deploy user's deployment.json nested 5000 deep (Python's parser recurses): that release's file is not
      // shown, and every release is still listed.
      await writeFile(server.file(`${RELEASES}/${first}/public/deployment.json`), `${"[".repeat(5000)}${"]".repeat(5000)}`);
      const deep = await server.gen(["releases", ENV_NAME]);
      assert.equal(deep.code, 0, deep.all);
      assert.deepEqual(deep.out.split("\n"), [`  ${first}  (no deployment.json)  [unfinished: no deployment.json]`, lines[1]]);
    }));

  it("--skip-front-build uploads the built dist without building; --celery-no-restart restarts only gunicorn and nginx", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      const index = join(server.app.checkout, "frontend/dist/index.html");
      await writeFile(index, "<html>built before\n");
      await server.clearRecorded();
      await afterRelease(first);
      const run = await server.deploy("--skip-front-build", "--celery-no-restart");
      assert.equal(run.code, 0, run.all);
      const second = await server.live();
      assert.notEqual(second, first);
      assert.match(run.err, /front-end build skipped/);
      assert.equal(await readFile(index, "utf8"), "<html>built before\n", "the build did not run");
      assert.equal(await readFile(server.file(`${RELEASES}/${second}/public/index.html`), "utf8"), "<html>built before\n");
      assert.equal((await filesUnder(server.file(`${RELEASES}/${second}/public`))).length, 302);
      assert.deepEqual(await server.recorded(), WEB_RESTARTS);
    }));

  it("refuses to deploy from the wrong local branch before anything on the server changes", () =>
    withDeployServer(async (server) => {
      await server.app.git("checkout", "-q", "-b", "feature");
      const before = await snapshotTree(server.root);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /on branch feature, not main/);
      const applied = run.out.split("\n").filter((l) => /applied/.test(l));
      assert.deepEqual(await snapshotTree(server.root), before, `the server changed: ${applied.join("; ")}`);
      assert.deepEqual(await server.recorded(), [], "nothing was restarted");
    }));

  it("with --no-apply refuses configuration that differs, showing the plan once and changing nothing", () =>
    withDeployServer(async (server) => {
      const before = await snapshotTree(server.root);
      const run = await server.deploy("--no-apply");
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /differs from the environment: run gen apply t first/);
      assert.equal(run.all.split("\n").filter((l) => l.startsWith("create /etc/sudoers.d/")).length, 1, "the plan is shown once");
      assert.deepEqual(await snapshotTree(server.root), before);
      assert.deepEqual(await server.recorded(), []);
    }));

  it("shows the configuration plan once when it applies it before releasing", () =>
    withDeployServer(async (server) => {
      const run = await server.deploy();
      assert.equal(run.code, 0, run.all);
      assert.equal(run.all.split("\n").filter((l) => l.startsWith("create /etc/sudoers.d/")).length, 1, run.all);
    }));

  it("refuses a bad --branch name before anything runs", () =>
    withDeployServer(async (server) => {
      const before = await snapshotTree(server.root);
      const run = await server.deploy("--branch", "bad..name");
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /"bad\.\.name" is not a valid branch name/);
      assert.doesNotMatch(run.all, /\[1\/9\]/);
      assert.deepEqual(await snapshotTree(server.root), before);
      assert.deepEqual(await server.recorded(), []);
    }));

  it("refuses while another deploy holds the lock, naming the holder, and leaves the lock and current alone", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      const holder = { who: "alice@laptop", command: "deploy", since: "2026-01-02T03:04:05.000Z", pid: 4242 };
      const lock = server.file(`${STATE_DIR}/locks/lock`);
      await mkdir(lock);
      await writeFile(join(lock, "holder.json"), `${JSON.stringify(holder)}\n`);
      await server.clearRecorded();
      const before = await snapshotTree(server.root);
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /is locked by alice@laptop \(gen deploy, pid 4242\) since 2026-01-02T03:04:05\.000Z/);
      assert.match(run.err, /--force-unlock/);
      assert.deepEqual(await snapshotTree(server.root), before);
      // The configuration step meets the lock first (apply takes it with its read). The release step's own lock, whose
      // round trip also makes the new release's folder, only once it is taken:
      await assert.rejects(
        deployInProcess(server, () => new Date()),
        /is locked by alice@laptop \(gen deploy, pid 4242\)/,
      );
      assert.deepEqual(await snapshotTree(server.root), before);
      assert.deepEqual(await server.recorded(), []);
    }));

  it("refuses a local commit the repository does not have, naming it, and leaves the live release alone", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await writeFile(join(server.app.checkout, "backend/manage.py"), "print('not pushed')\n");
      await server.app.git("commit", "-q", "-am", "Not pushed");
      const unpushed = await server.app.git("rev-parse", "HEAD");
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.match(
        run.err,
        new RegExp(`does not have commit ${unpushed} \\(the one checked locally\\): push it \\(git push\\), or deploy with --source archive`),
      );
      assert.equal(await server.live(), first);
      assert.deepEqual(await server.releases(), [first]);
      const log = await releaseLog(server);
      assert.deepEqual(log.map((e) => [e.command, e.commit, e.result]).slice(-1), [["deploy", unpushed, "failed"]]);

      await server.app.git("push", "-q", server.app.bare, "HEAD");
      await afterRelease(first);
      const second = await deployed(server);
      const deployment = JSON.parse(await readFile(server.file(`${RELEASES}/${second}/public/deployment.json`), "utf8")) as Record<string, string>;
      assert.equal(deployment.hash, unpushed);
      assert.equal(await readFile(server.file(`${RELEASES}/${second}/backend/manage.py`), "utf8"), "print('not pushed')\n");
    }));

  it("--source archive deploys the local commit without cloning", () =>
    withDeployServer(async (server) => {
      await server.writeEnv({ release: { repository: "/nonexistent/app.git" } });
      const run = await server.deploy("--source", "archive");
      assert.equal(run.code, 0, run.all);
      assert.doesNotMatch(run.all, /git clone/);
      const id = await server.live();
      const release = server.file(`${RELEASES}/${id}`);
      assert.deepEqual((await readdir(release)).sort(), ["backend", "public"]);
      assert.deepEqual((await readdir(join(release, "backend"))).sort(), ["backend_site", "installed.txt", "manage.py", "tasks.log"]);
      assert.equal(await readFile(join(release, "backend/manage.py"), "utf8"), await readFile(join(server.app.checkout, "backend/manage.py"), "utf8"));
      const deployment = JSON.parse(await readFile(join(release, "public/deployment.json"), "utf8")) as Record<string, string>;
      assert.equal(deployment.hash, await server.app.git("rev-parse", "HEAD"));
    }));

  // The clock runs 2 % slow: after the wait the clock promised would end the second, it still reads 990-999 ms, as
  // it does when a timer ends early (Node's timers start from the event loop's time, read before the code ran).
  it("a deploy in the same second as the live release waits for the next second and makes its release there, its clock a little slow", () =>
    withDeployServer(async (server) => {
      const live = await deployed(server);
      const result = await deployInProcess(server, clockFrom(live, 0.98));
      assert.equal(result.outcome, "deployed", result.error?.message);
      const next = result.release;
      assert.ok(next > live, `the release ${next} is not after ${live}`);
      assert.equal(await server.live(), next);
      assert.deepEqual(await server.releases(), [live, next]);
      await stat(server.file(`${RELEASES}/${live}/public/deployment.json`));
      assert.equal((await releaseLog(server)).at(-1)!.release, next);
    }));

  it("a deploy that waited for the next second removes the release it made there when a task then fails", () =>
    withDeployServer(async (server) => {
      const live = await deployed(server);
      await server.writeEnv({ release: { tasks: [["sh", "-c", "echo 'migrate: no database' >&2; exit 3"]] } });
      const result = await deployInProcess(server, clockFrom(live));
      assert.equal(result.outcome, "failed");
      assert.equal(result.failedStep, 5);
      assert.ok(result.release > live, `the deploy waited: its release is ${result.release}`);
      assert.match(result.error?.message ?? "", /exit 3/);
      assert.equal(await server.live(), live);
      assert.deepEqual(await server.releases(), [live], "the release made after the wait is removed");
    }));

  it("a signal while a deploy waits for the next second stops it there: nothing made, logged failed, lock released", () =>
    withDeployServer(async (server) => {
      const live = await deployed(server);
      // The signal comes once the lock is taken (its round trip found the release id taken): the wait ends in the stop.
      const result = await deployInProcess(server, clockFrom(live), signalAt(": lock", "SIGTERM"));
      assert.equal(result.outcome, "interrupted");
      assert.equal(result.error?.message, `interrupted (SIGTERM) before the release was made: nothing was changed; ${live} is still live`);
      assert.equal(result.interrupted, "SIGTERM");
      assert.equal(await server.live(), live);
      assert.deepEqual(await server.releases(), [live]);
      const last = (await releaseLog(server)).at(-1)!;
      assert.deepEqual([last.release, last.result], [live, "failed"], "an interrupted deploy is a failed one for the log");
      await lockGone(server);
    }));

  it("a task that fails once a signal came (the terminal's Ctrl-C reaches it too) ends the deploy as interrupted, the release removed", () =>
    withDeployServer(async (server) => {
      const live = await deployed(server);
      const control = await mkdtemp(join(tmpdir(), "gen-signal-task-"));
      const came = join(control, "signal");
      try {
        // The task is stopped by the signal gen got too: it exits 130 once the signal is there for gen to see.
        await server.writeEnv({ release: { tasks: [["sh", "-c", `touch '${came}'; echo 'migrate: interrupted' >&2; exit 130`]] } });
        const interrupt: Interrupt = {
          get signal() {
            return existsSync(came) ? "SIGINT" : undefined;
          },
          doing: () => {},
        };
        await afterRelease(live);
        const result = await deployInProcess(server, () => new Date(), interrupt);
        assert.equal(result.outcome, "interrupted");
        assert.equal(result.failedStep, 5);
        assert.equal(result.error?.message, `interrupted (SIGINT) before the switch: the half-made release was removed; ${live} is still live`);
        assert.match(result.error?.details[0] ?? "", /exit 130/, "the task's failure is kept as a detail");
        assert.equal(await server.live(), live);
        assert.deepEqual(await server.releases(), [live], "the half-made release is removed");
        const last = (await releaseLog(server)).at(-1)!;
        assert.deepEqual([last.release, last.result], [result.release, "failed"]);
        await lockGone(server);
      } finally {
        await rm(control, { recursive: true, force: true });
      }
    }));

  it("the first deploy ever, interrupted before the switch, names no release as still live: there is none", () =>
    withDeployServer(async (server) => {
      // The release step alone: the front end as a local build leaves it, the releases folder as apply makes it.
      await frontEndBuilt(server);
      await mkdir(server.file(RELEASES), { recursive: true });
      const result = await deployInProcess(server, () => new Date(), signalAt(": build release", "SIGTERM"));
      assert.deepEqual([result.outcome, result.interrupted, result.previous], ["interrupted", "SIGTERM", undefined]);
      assert.equal(result.error?.message, "interrupted (SIGTERM) before the switch: the half-made release was removed");
      assert.equal(await server.live(), "");
      assert.deepEqual(await server.releases(), []);
      await lockGone(server);
    }));

  it("a release folder that cannot be made leaves nothing behind, and once a signal came its words say nothing was changed", () =>
    withDeployServer(async (server) => {
      // No releases folder (apply makes it; the release step alone is run here): mkdir of the release fails.
      await frontEndBuilt(server);
      const result = await deployInProcess(server, () => new Date(), signalAt(": build release", "SIGTERM"));
      assert.deepEqual([result.outcome, result.failedStep, result.interrupted], ["interrupted", 5, "SIGTERM"]);
      assert.equal(result.error?.message, "interrupted (SIGTERM) before the switch: nothing was changed");
      assert.match(result.error?.details[0] ?? "", /^creating \/var\/www\/releases\/\d{8}T\d{6}Z failed on /, "the failure is kept as a detail");
      assert.equal(existsSync(server.file("/var/www")), false, "no half-made release (nor a releases folder) was left");
      await lockGone(server);
    }));

  it("a failure once a signal came is an interruption only before the switch: a restart that fails after it still switches back", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await server.failOn("restart tsosi_celery");
      await afterRelease(first);
      const restarted = await deployInProcess(server, () => new Date(), signalAt(": restart services", "SIGINT"));
      assert.deepEqual([restarted.outcome, restarted.failedStep, restarted.interrupted], ["rolled-back", 7, "SIGINT"], restarted.error?.message);
      assert.match(restarted.error?.message ?? "", /restart tsosi_celery` failed/);
      assert.equal(await server.live(), first);
    }));

  it("a release id still taken after waiting for the next second (a clock standing still) fails without touching the live release", () =>
    withDeployServer(async (server) => {
      const live = await deployed(server);
      const stopped = sameSecondAs(live);
      const result = await deployInProcess(server, () => stopped);
      assert.equal(result.outcome, "failed");
      const error = result.error?.message ?? "";
      assert.match(error, new RegExp(`^release ${live} already exists on .*: deploy again in a second`));
      assert.equal(result.failedStep, 5);
      assert.equal(await server.live(), live);
      assert.deepEqual(await server.releases(), [live], `the live release folder is gone (the deploy failed with: ${error})`);
      await stat(server.file(`${RELEASES}/${live}/backend/manage.py`));
      await stat(server.file(`${RELEASES}/${live}/public/deployment.json`));
    }));
});

/** The `$ sudo systemctl ...` lines a deploy shows for its restarts, one after another (after `first`, when given). */
function sudoLines(commands: string[], first?: string): RegExp {
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const lines = commands.map((c) => ` {4}\\$ sudo \\S+/systemctl ${literal(c)}`);
  return new RegExp(`^${[...(first ? [` {4}${literal(first)}`] : []), ...lines].join("\n")}$`, "m");
}

/** A `gen deploy --json` run on the one host that failed at `step`, with an error that matches `error`. */
function assertFailedAt(run: { out: string; all: string }, step: number, error: RegExp): void {
  const { hosts } = assertJsonOutput<{ hosts: { outcome: string; failedStep: number; error: string }[] }>("deploy", run.out);
  assert.deepEqual(
    hosts.map((h) => [h.outcome, h.failedStep]),
    [["failed", step]],
    run.all,
  );
  assert.match(hosts[0]!.error, error);
}

/** The front end as a deploy's local build leaves it, for a deploy that runs the release step alone. */
async function frontEndBuilt(server: DeployServer): Promise<void> {
  await mkdir(join(server.app.checkout, "frontend/dist"), { recursive: true });
  await writeFile(join(server.app.checkout, "frontend/dist/index.html"), "<html>built\n");
}

/** The server's release log, one entry a line. */
async function releaseLog(server: DeployServer): Promise<Record<string, string>[]> {
  return (await readFile(server.file(`${RELEASES}/releases.log`), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, string>);
}

/** An interrupt whose `signal` comes when the deploy announces the step whose title includes `at`. */
function signalAt(at: string, signal: string): Interrupt {
  let came: string | undefined;
  return {
    get signal() {
      return came;
    },
    doing: (step) => {
      if (step?.includes(at)) came = signal;
    },
  };
}

/** A clock that starts half a second into the second `release` names and runs at `rate` of the real one. */
function clockFrom(release: string, rate = 1): () => Date {
  const started = Date.now();
  return () => new Date(sameSecondAs(release).getTime() + (Date.now() - started) * rate);
}

/** Half a second into the UTC second a release id names. */
function sameSecondAs(release: string): Date {
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(release) ?? [];
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.500Z`);
}

/** The release step alone (deployRelease), in this process, as the deploy user of the test server, at `now`. */
async function deployInProcess(server: DeployServer, now: () => Date, interrupt?: Interrupt): Promise<DeployResult> {
  const { env, transport } = await openServerInProcess(server);
  const silent: StepReporter = { start: () => {}, done: () => {}, output: { onCommand: () => {}, onOutput: () => {}, onUpload: () => {} } };
  const dist = join(server.app.checkout, "frontend/dist");
  try {
    return await deployRelease(
      {
        environment: env,
        commit: await readCommit(server.app.checkout, "main"),
        source: { kind: "clone", branch: "main", commit: await server.app.git("rev-parse", "HEAD") },
        frontend: { dir: dist, files: await listBuildOutput(dist) },
        restartCelery: true,
        forceUnlock: false,
        roles: ["web", "worker"],
      },
      { transport, now, who: "test", pid: process.pid, report: silent, ...(interrupt ? { interrupt } : {}) },
    );
  } finally {
    await transport.close();
  }
}
