// gen apply end to end: the real CLI parser (and applyPlan for a tampered file), a real OpenSSH server on
// 127.0.0.1 over a fake root, and stand-ins for systemctl and nginx -t that record every call.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sha256 } from "../../src/render/render-environment.js";
import { startGenServer } from "./support/gen-server.js";
import { assertJsonOutput } from "../support/json-output.js";
import {
  apply,
  appliedOnce,
  applyAfterReview,
  LOGROTATE,
  type RenderedFiles,
  MANAGED,
  SETTINGS,
  SITE,
  SITE_LINK,
  snapshot,
  STATE,
  SUDOERS,
  UNITS,
  withServer,
} from "./support/apply-server.js";

const FOLDERS = [
  "/var/www",
  "/var/www/releases",
  "/var/log/tsosi",
  "/tsosi_media",
  "/home/gen-test/config",
  "/home/gen-test/tsosi_errors",
  "/home/gen-test/tsosi_to_ingest",
];
const GEN_TEST_UID = 1001;

async function leftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (/^\.gen-(stage|restore)\./.test(entry.name)) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

function restarts(log: string[]): string[] {
  return log.filter((l) => l.startsWith("systemctl restart "));
}

// Each test has its own sshd and root, so two run at once: most of an apply is waiting on the server.
describe("gen apply", { concurrency: 2 }, () => {
  it("creates every file with its mode and owner on an empty server, runs the handlers, records and logs", () =>
    withServer(async (server) => {
      const run = await apply(server);
      assert.equal(run.code, 0, run.all);
      assert.match(run.out, /^127\.0\.0\.1: applied 10 files; ran /m);

      const sudoers = await stat(server.file(SUDOERS));
      assert.deepEqual([sudoers.mode & 0o7777, sudoers.uid, sudoers.gid], [0o440, 0, 0]);
      const settings = await stat(server.file(SETTINGS));
      assert.deepEqual([settings.mode & 0o7777, settings.uid, settings.gid], [0o600, GEN_TEST_UID, GEN_TEST_UID]);
      for (const unit of [
        "tsosi_gunicorn.socket",
        "tsosi_gunicorn.service",
        "tsosi_gunicorn_handover.service",
        "tsosi_celery.service",
        "tsosi_celery_beat.service",
      ]) {
        assert.equal((await stat(server.file(`${UNITS}/${unit}`))).mode & 0o7777, 0o644, unit);
      }
      for (const folder of FOLDERS) assert.ok((await stat(server.file(folder))).isDirectory(), folder);
      const config = await stat(server.file("/home/gen-test/config"));
      assert.deepEqual([config.mode & 0o7777, config.uid, config.gid], [0o750, 0, GEN_TEST_UID], "root's, read by the deploy group");
      assert.ok((await lstat(server.file(SITE_LINK))).isSymbolicLink());
      assert.equal(await readlink(server.file(SITE_LINK)), SITE);

      const log = await server.recorded();
      assert.equal(log[0], "systemctl daemon-reload");
      assert.equal(log[1], "systemctl enable tsosi_gunicorn.socket tsosi_celery.service tsosi_celery_beat.service");
      assert.ok(log.indexOf("nginx -t") < log.indexOf("systemctl reload nginx.service") && log.includes("nginx -t"), log.join("\n"));
      // Each unit restarted once: the socket's restart restarts the service that requires it (when it runs: it is
      // socket-activated), the worker's restarts beat, which is then only started in case it was not running.
      assert.deepEqual(restarts(log).sort(), ["systemctl restart tsosi_celery.service", "systemctl restart tsosi_gunicorn.socket"]);
      assert.ok(log.indexOf("systemctl restart tsosi_celery.service") < log.indexOf("systemctl start tsosi_celery_beat.service"), log.join("\n"));
      assert.equal(log.length, 7, log.join("\n"));

      const record = JSON.parse(await readFile(server.file(`${STATE}/applied.json`), "utf8")) as { files: Record<string, string> };
      assert.deepEqual(Object.keys(record.files).sort(), [...MANAGED].sort());
      assert.equal(record.files[LOGROTATE], sha256(await readFile(server.file(LOGROTATE), "utf8")));
      const applyLog = (await readFile(server.file(`${STATE}/apply.log`), "utf8")).trim().split("\n");
      assert.equal(applyLog.length, 1);
      const entry = JSON.parse(applyLog[0]!) as { outcome: string; files: unknown[]; host: string };
      assert.deepEqual([entry.outcome, entry.files.length, entry.host], ["applied", 10, "127.0.0.1"]);
      assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
      assert.deepEqual(await leftovers(server.root), []);
    }));

  it("on a server without a release yet, installs and enables the units but starts only the socket", async () => {
    const server = await startGenServer({ release: false });
    try {
      const run = await apply(server);
      assert.equal(run.code, 0, run.all);
      // Gunicorn's service is left to its socket, which starts it on the first connection.
      for (const unit of ["tsosi_celery.service", "tsosi_celery_beat.service"])
        assert.match(run.err, new RegExp(`${unit} not started: there is no release yet \\(the first gen deploy starts it\\)`), run.all);
      const log = await server.recorded();
      assert.ok(log.includes("systemctl enable tsosi_gunicorn.socket tsosi_celery.service tsosi_celery_beat.service"), log.join("\n"));
      assert.deepEqual(
        log.filter((l) => /^systemctl (restart|start) /.test(l)),
        ["systemctl restart tsosi_gunicorn.socket"],
      );
      const json = await server.gen(["diff", "t"]);
      assert.equal(json.code, 0, json.all);
    } finally {
      await server.stop();
    }
  });

  it("has nothing to do right after an apply, and releases the lock its read took", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const before = await snapshot(server);
      const run = await apply(server);
      assert.equal(run.code, 0, run.all);
      assert.match(run.out, /^nothing to do: t is in sync$/m);
      assert.deepEqual(await server.recorded(), []);
      assert.deepEqual(await snapshot(server), before);
      assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
    }));

  it("with --yes, reads the server under its lock in the first round trip, and stages, checks and installs in the next", () =>
    withServer(async (server) => {
      // Every file is created (nothing to read but hashes): one round trip for the lock, the leftovers and the
      // probe; one for preflight, folders, staging, checks, install, handlers, record and unlock.
      const run = await server.gen(["apply", "t", "--yes"], { env: { GEN_REPORT_EXEC: "1" } });
      assert.equal(run.code, 0, run.all);
      assert.match(run.out, /^127\.0\.0\.1: applied 10 files; ran /m);
      assert.match(run.err, /^gen: step batches: 2$/m);
      assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
    }));

  describe("handlers", { concurrency: 2 }, () => {
    it("runs no handler for a logrotate change", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        const run = await apply(server);
        assert.equal(run.code, 0, run.all);
        assert.match(run.out, /^127\.0\.0\.1: applied 1 file$/m);
        assert.deepEqual(await server.recorded(), []);
      }));

    it("restarts, reloads and enables nothing when only modes and owners are put back", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        // Content unchanged, metadata changed by hand: files whose content change restarts Gunicorn and Celery,
        // reloads systemd and nginx.
        spawnSync("chmod", ["0644", server.file(SETTINGS)]);
        spawnSync("chown", ["gen-test", server.file(`${UNITS}/tsosi_celery.service`)]);
        spawnSync("chgrp", ["gen-test", server.file(SITE)]);
        const run = await apply(server);
        assert.equal(run.code, 0, run.all);
        assert.match(run.out, /^127\.0\.0\.1: applied 3 files$/m);
        assert.deepEqual(await server.recorded(), []);
        assert.equal((await stat(server.file(SETTINGS))).mode & 0o7777, 0o600);
        assert.equal((await stat(server.file(`${UNITS}/tsosi_celery.service`))).uid, 0);
        assert.equal((await stat(server.file(SITE))).gid, 0);
      }));

    it("reloads systemd, enables and restarts only the Celery worker when its unit changes", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ celery: { logLevel: "DEBUG" } });
        const run = await apply(server);
        assert.equal(run.code, 0, run.all);
        assert.match(run.out, /^127\.0\.0\.1: applied 1 file; ran /m);
        assert.deepEqual(await server.recorded(), [
          "systemctl daemon-reload",
          "systemctl enable tsosi_celery.service",
          "systemctl restart tsosi_celery.service",
        ]);
      }));

    it("reloads systemd and restarts only gunicorn when gunicorn.workers changes", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ gunicorn: { workers: 3 } });
        const run = await apply(server);
        assert.equal(run.code, 0, run.all);
        // The service and its handover twin run the same Gunicorn.
        assert.match(run.out, /^127\.0\.0\.1: applied 2 files; ran /m);
        // The service is socket-activated: it is not enabled itself. It runs, so a second Gunicorn answers on its
        // socket while it restarts.
        const log = (await server.recorded()).filter((l) => !l.startsWith("systemctl enable "));
        assert.deepEqual(log, [
          "systemctl daemon-reload",
          "systemctl start tsosi_gunicorn_handover.service",
          "systemctl restart tsosi_gunicorn.service",
          "systemctl stop tsosi_gunicorn_handover.service",
        ]);
      }));
  });

  it("never puts a sudoers file that fails visudo, or settings that python3 cannot compile, in place", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const before = await snapshot(server);
      const broken = (f: RenderedFiles[number]) =>
        f.path === SUDOERS
          ? { ...f, content: f.content.replaceAll("NOPASSWD", "NOPASWD") }
          : f.path === SETTINGS
            ? { ...f, content: `${f.content}BROKEN = (\n` }
            : f;
      const result = await applyAfterReview(server, {
        reviewed: (files) => files.map(broken),
        applied: (files) => files.map(broken),
        meanwhile: async (reviewed) => {
          assert.deepEqual(
            reviewed.entries
              .filter((e) => e.action !== "unchanged")
              .map((e) => e.path)
              .sort(),
            [SETTINGS, SUDOERS].sort(),
          );
        },
      });
      assert.equal(result.outcome, "failed");
      assert.deepEqual(result.changed, []);
      const message = [result.error?.message, ...(result.error?.details ?? [])].join("\n");
      assert.match(message, /visudo rejected \/etc\/sudoers\.d\/tsosi/);
      assert.match(message, /python3 rejected \/home\/gen-test\/config\/settings_local\.py: .*SyntaxError/);
      assert.deepEqual(await snapshot(server), before);
      assert.deepEqual(await leftovers(server.root), []);
      assert.deepEqual(await server.recorded(), []);
      assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
    }));

  it("reads the server again under the lock: a file changed after the plan was reviewed stops the apply, and nothing is changed", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const changed = (files: RenderedFiles) => files.map((f) => (f.path === LOGROTATE ? { ...f, content: `${f.content}# reviewed change\n` } : f));
      let before: Record<string, string> = {};
      const result = await applyAfterReview(server, {
        reviewed: changed,
        applied: changed,
        meanwhile: async (reviewed) => {
          assert.deepEqual(
            reviewed.entries.filter((e) => e.action !== "unchanged").map((e) => e.path),
            [LOGROTATE],
          );
          // After the review, before the lock: someone edits another managed file.
          await writeFile(server.file(SITE), "# edited by hand after the review\n");
          before = await snapshot(server);
        },
      });
      assert.equal(result.outcome, "failed");
      assert.deepEqual(result.changed, []);
      assert.match(result.error?.message ?? "", /^the server or the environment changed since the plan was made; nothing was changed on /);
      assert.ok(result.error?.details.includes(`${SITE}: no longer as planned`), result.error?.details.join("\n"));
      assert.deepEqual(await snapshot(server), before);
      assert.deepEqual(await server.recorded(), []);
      assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
    }));

  it("restores the old nginx site when nginx -t fails after the install", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const oldSite = await readFile(server.file(SITE), "utf8");
      await server.writeEnv({ nginx: { clientMaxBodySize: "10m" } });
      await server.failNginxTest(true);
      const run = await apply(server);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /apply failed on 127\.0\.0\.1: .*nginx-test` failed .*every file of this apply was restored/);
      assert.match(run.err, /restored: \/etc\/nginx\/sites-available\/tsosi/);
      assert.equal(await readFile(server.file(SITE), "utf8"), oldSite);
      assert.ok(!(await server.recorded()).includes("systemctl reload nginx.service"), "nginx never reloaded with a failing config");
      assert.deepEqual(await leftovers(server.root), []);
      const log = (await readFile(server.file(`${STATE}/apply.log`), "utf8")).trim().split("\n");
      assert.equal((JSON.parse(log.at(-1)!) as { outcome: string }).outcome, "failed");
    }));

  it("rolls every file back and restarts again, on the old files, what it had restarted when a restart fails", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const before = await snapshot(server);
      await server.writeEnv({ logrotate: { rotate: 9 }, django: { extra: { DJANGO_LOG_LEVEL: "DEBUG" } } });
      await server.failOn("restart tsosi_celery.service", { once: true });
      const run = await apply(server);
      assert.equal(run.code, 1, run.all);
      assert.match(
        run.err,
        /restart tsosi_celery\.service` failed on 127\.0\.0\.1 \(exit 1\); every file of this apply was restored and its service changes undone/,
      );
      for (const path of [LOGROTATE, SETTINGS]) assert.ok(run.err.includes(path), `${path} named as restored`);
      assert.deepEqual(await snapshot(server), before);
      const log = await server.recorded();
      const failed = log.indexOf("systemctl restart tsosi_celery.service");
      assert.ok(failed > 0, log.join("\n"));
      assert.ok(log.indexOf("systemctl restart tsosi_gunicorn.service") < failed, log.join("\n"));
      // After restoring, what had been restarted (the failed restart included) is restarted on the old files; beat,
      // never reached, was not touched.
      assert.deepEqual(log.slice(failed + 1), [
        "systemctl start tsosi_gunicorn_handover.service",
        "systemctl restart tsosi_gunicorn.service",
        "systemctl stop tsosi_gunicorn_handover.service",
        "systemctl restart tsosi_celery.service",
      ]);
      assert.deepEqual(await leftovers(server.root), []);
      const diff = await server.gen(["diff", "t"]);
      assert.equal(diff.code, 2, diff.all);
      assert.doesNotMatch(diff.out, /edited on the server/);
    }));

  it("says the restore is incomplete, and what is missing, when a service cannot be restarted on the old files either", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const before = await snapshot(server);
      await server.writeEnv({ celery: { logLevel: "DEBUG" } });
      await server.failOn("restart tsosi_celery.service");
      const run = await apply(server, "--json");
      assert.equal(run.code, 1, run.all);
      const result = assertJsonOutput<{ hosts: { error: string; errorDetails: string[]; restored: string[] }[] }>("apply", run.out);
      const host = result.hosts[0]!;
      assert.match(host.error, /; the restore is INCOMPLETE on 127\.0\.0\.1: 1 problem \(below\); run gen diff to see what differs$/);
      assert.ok(
        host.errorDetails.includes("`/usr/bin/systemctl restart tsosi_celery.service` failed (exit 1)") ||
          host.errorDetails.some((l) => /restart tsosi_celery\.service` failed \(exit 1\)$/.test(l)),
        host.errorDetails.join("\n"),
      );
      assert.deepEqual(host.restored, ["/etc/systemd/system/tsosi_celery.service"]);
      // The file itself is back: only the service could not be restarted.
      assert.deepEqual(await snapshot(server), before);
      const log = await server.recorded();
      assert.deepEqual(log.slice(log.indexOf("systemctl restart tsosi_celery.service") + 1), [
        "systemctl daemon-reload",
        "systemctl restart tsosi_celery.service",
      ]);
    }));

  describe("the lock", () => {
    it("lets one of two concurrent applies win; the other names the lock holder", () =>
      withServer(async (server) => {
        // The first is held in its install's round trip (its daemon-reload waits) while the second runs whole.
        const [waiting, go] = [join(server.tempDir, "waiting"), join(server.tempDir, "go")];
        await server.runOn("daemon-reload", `touch '${waiting}'; i=0; while [ ! -e '${go}' ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done`);
        const first = apply(server);
        for (let i = 0; i < 2400 && !existsSync(waiting); i++) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(existsSync(waiting), "the first apply reached its daemon-reload");
        const second = await apply(server);
        await writeFile(go, "");
        const won = await first;
        assert.equal(won.code, 0, won.all);
        assert.equal(second.code, 1, second.all);
        assert.match(second.err, /is locked by \S+ \(gen apply, pid \d+\) since /);
        assert.match(second.err, /--force-unlock/);
        assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false);
      }));

    it("refuses while another holds the lock, and takes it over with --force-unlock", () =>
      withServer(async (server) => {
        const lock = server.file(`${STATE}/locks/lock`);
        await mkdir(lock, { recursive: true });
        await writeFile(
          join(lock, "holder.json"),
          `${JSON.stringify({ who: "alice@laptop", command: "deploy", since: "2024-05-01T10:00:00.000Z", pid: 4242 })}\n`,
        );
        const refused = await server.gen(["apply", "t", "--yes"], { env: { GEN_REPORT_EXEC: "1" } });
        assert.equal(refused.code, 1, refused.all);
        assert.match(refused.err, /is locked by alice@laptop \(gen deploy, pid 4242\) since 2024-05-01T10:00:00\.000Z/);
        // The answer of the read that found the lock held says by whom: no second round trip to ask again.
        assert.match(refused.err, /^gen: step batches: 1$/m);
        assert.match(refused.err, /--force-unlock/);
        assert.deepEqual(await snapshot(server), {});
        assert.deepEqual(await server.recorded(), []);

        const forced = await apply(server, "--force-unlock");
        assert.equal(forced.code, 0, forced.all);
        assert.match(forced.err, /took over the lock of alice@laptop \(gen deploy, pid 4242\)/);
        assert.equal(Object.keys(await snapshot(server)).length, MANAGED.length);
        assert.equal(existsSync(lock), false);
      }));

    it("takes over, without --force-unlock, a lock left by a run of this user on this machine whose process is gone", () =>
      withServer(async (server) => {
        const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
        const me = `${userInfo().username}@${hostname()}`;
        const lock = server.file(`${STATE}/locks/lock`);
        await mkdir(lock, { recursive: true });
        await writeFile(join(lock, "holder.json"), `${JSON.stringify({ who: me, command: "apply", since: "2024-05-01T10:00:00.000Z", pid: gone })}\n`);
        const run = await apply(server);
        assert.equal(run.code, 0, run.all);
        assert.match(
          run.err,
          new RegExp(`took over the lock of ${me.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(gen apply, pid ${gone}\\) since .*, whose process is gone`),
        );
        assert.equal(existsSync(lock), false);
      }));
  });

  it("converges after the connection is killed in the middle of an apply", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      await server.writeEnv({ celery: { logLevel: "DEBUG" } });
      await server.killSshdOn("daemon-reload");
      const killed = await apply(server);
      assert.equal(killed.code, 1, killed.all);
      assert.match(killed.err, /connection lost/, killed.all);
      assert.ok(existsSync(server.file(`${STATE}/locks/lock`)), "the interrupted apply could not release its lock");

      await server.killSshdOn(undefined);
      await server.restartSshd();
      await server.clearRecorded();
      const again = await apply(server, "--force-unlock");
      assert.equal(again.code, 0, again.all);
      assert.match(again.err, /took over the lock of /, again.all);
      assert.match(again.err, /removed leftover of an interrupted apply: /, again.all);
      assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
      // The handlers of the interrupted apply never ran: converging means running them now.
      const log = await server.recorded();
      assert.ok(log.includes("systemctl daemon-reload") && log.includes("systemctl restart tsosi_celery.service"), log.join("\n"));

      const diff = await server.gen(["diff", "t"]);
      assert.equal(diff.code, 0, diff.all);
      assert.doesNotMatch(diff.out, /edited on the server/);
    }));

  it("with --json prints only the JSON result on standard output", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      await server.writeEnv({ logrotate: { rotate: 8 } });
      const run = await apply(server, "--json");
      assert.equal(run.code, 0, run.all);
      const result = assertJsonOutput<{ outcome: string; hosts: { host: string; outcome: string; changed: string[] }[] }>("apply", run.out);
      assert.equal(result.outcome, "applied");
      assert.deepEqual(
        result.hosts.map((r) => [r.outcome, r.changed]),
        [["applied", [LOGROTATE]]],
      );
      assert.match(run.err, /change \/etc\/logrotate\.d\/tsosi/, "the plan goes to standard error");
    }));

  it("says the SSH user needs passwordless sudo when sudo -n refuses, and changes nothing", async () => {
    const server = await startGenServer({ user: "gen-test" });
    try {
      await server.writeEnv({ server: { useSudo: true } });
      const run = await apply(server);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /sudo -n refused: apply needs an SSH user \(server\.sshUser\) that may run commands as root without a password/);
      for (const path of MANAGED) assert.equal(existsSync(server.file(path)), false, path);
      assert.deepEqual(await server.recorded(), []);
    } finally {
      await server.stop();
    }
  });

  it("refuses a managed folder that the deploy user replaced by a link to a root-owned folder, changing nothing", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      // The deploy user owns its home: it can put a link where tsosi_errors was.
      const errors = "/home/gen-test/tsosi_errors";
      const target = server.file("/srv/root-only");
      await mkdir(target, { recursive: true, mode: 0o700 });
      await writeFile(join(target, "key"), "root's\n", { mode: 0o600 });
      await rm(server.file(errors), { recursive: true });
      await symlink(target, server.file(errors));
      const before = await snapshot(server);
      for (let attempt = 0; attempt < 2; attempt++) {
        const run = await apply(server);
        assert.equal(run.code, 1, run.all);
        assert.match(
          run.err,
          /\/home\/gen-test\/tsosi_errors is a symbolic link: gen does not change anything as root through a link it did not make\. Replace it with a real folder/,
        );
        for (const path of [target, join(target, "key")]) {
          const info = await stat(path);
          assert.deepEqual([info.uid, info.gid], [0, 0], `${path} changed owner`);
        }
        assert.equal((await stat(target)).mode & 0o7777, 0o700, "the target's mode changed");
        assert.ok((await lstat(server.file(errors))).isSymbolicLink(), "the link was left as it is");
        assert.deepEqual(await snapshot(server), before);
        assert.deepEqual(await server.recorded(), []);
      }
    }));

  it("takes back a state folder the deploy user owned, refusing the link it left there before any backup goes through it", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const state = await stat(server.file(STATE));
      assert.deepEqual([state.uid, state.gid, state.mode & 0o7777], [0, 0, 0o755], "the state folder is root's");
      const locks = await stat(server.file(`${STATE}/locks`));
      assert.deepEqual([locks.uid, locks.gid, locks.mode & 0o7777], [0, GEN_TEST_UID, 0o1770], "locks/ is root's, sticky, the deploy group's to write");
      // As an older gen left it: the deploy user's, who put a link where root writes its backups.
      spawnSync("chown", ["-R", "gen-test:gen-test", server.file(STATE)]);
      const target = server.file("/srv/root-only");
      await mkdir(target, { recursive: true, mode: 0o700 });
      await rm(server.file(`${STATE}/backups`), { recursive: true, force: true });
      await symlink(target, server.file(`${STATE}/backups`));
      await server.writeEnv({ logrotate: { rotate: 9 } });
      const before = await snapshot(server);
      const run = await apply(server);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /\/var\/lib\/gen\/tsosi\/backups is a symbolic link: gen does not change anything as root through a link/);
      assert.deepEqual(await readdir(target), [], "a backup was written through the link");
      assert.deepEqual(await snapshot(server), before);
      assert.equal((await stat(server.file(STATE))).uid, 0, "the state folder was taken back");
    }));

  it("installs files as root only into root's folders: a file in the deploy user's folder is refused before anything changes", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      await writeFile(join(server.envDir, "extra.conf.njk"), "# {{ app.name }}\n");
      await server.writeEnv({ files: [{ path: "/var/www/extra.conf", template: "extra.conf.njk", owner: "gen-test", group: "gen-test" }] });
      const before = await snapshot(server);
      const run = await apply(server);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /\/var\/www belongs to another user than root, and apply installs \/var\/www\/extra\.conf there as root/);
      assert.equal(existsSync(server.file("/var/www/extra.conf")), false);
      assert.deepEqual(await snapshot(server), before);
    }));

  it("refuses a managed folder whose parent is a link, creating nothing through it", () =>
    withServer(async (server) => {
      const target = server.file("/srv/root-only");
      await mkdir(target, { recursive: true, mode: 0o700 });
      await mkdir(server.file("/home"), { recursive: true });
      await symlink(target, server.file("/home/gen-test"));
      const run = await apply(server);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /\/home\/gen-test is a symbolic link/);
      assert.deepEqual(await readdir(target), []);
      const info = await stat(target);
      assert.deepEqual([info.uid, info.gid, info.mode & 0o7777], [0, 0, 0o700]);
    }));

  it("reports every preflight problem at once and changes nothing", () =>
    withServer(
      async (server) => {
        await server.writeEnv({ server: { deployUser: "nosuchuser" }, nginx: { tls: true } });
        const run = await apply(server);
        assert.equal(run.code, 1, run.all);
        assert.match(run.err, /preflight found \d+ problems on 127\.0\.0\.1; nothing was changed/);
        assert.match(run.err, /user nosuchuser does not exist/);
        assert.match(run.err, /\/etc\/letsencrypt\/live\/tsosi\.localhost\/fullchain\.pem \(named by the nginx site\) is missing/);
        for (const path of [SUDOERS, SITE, LOGROTATE, `${UNITS}/tsosi_gunicorn.service`, "/home/nosuchuser/config/settings_local.py", ...FOLDERS]) {
          assert.equal(existsSync(server.file(path)), false, path);
        }
        assert.deepEqual(await server.recorded(), []);
      },
      { release: false },
    ));

  it("refuses without --yes when there is no terminal to ask on", { skip: process.stdin.isTTY ? "stdin is a terminal" : false }, () =>
    withServer(async (server) => {
      const run = await server.gen(["apply", "t"]);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /no terminal to ask on; pass --yes/);
      assert.deepEqual(await snapshot(server), {});
      assert.deepEqual(await server.recorded(), []);
    }),
  );
});
