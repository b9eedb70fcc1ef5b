// The smoke checks after a deploy and `gen check`: Debian's real nginx serves the site gen renders (its paths moved
// under the test server's root), proxying to a real HTTP server on the Gunicorn socket; the checks run on the
// server through the SSH session. A release whose stand-in answers 500 is switched back.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { renderedEnvironment } from "../support/rendered-environment.js";
import { runGen } from "../support/run-gen.js";
import { assertJsonOutput } from "../support/json-output.js";
import {
  afterRelease,
  ENV_NAME,
  GUNICORN_UNIT,
  RESTARTS,
  STATUS_FILE,
  WEB_RESTARTS,
  withDeployServer,
  type DeployServer,
} from "./deploy-support/deploy-server.js";
import { withDebianNginx, type NginxFile } from "./nginx-support/debian-nginx.js";
import { selfSignedCertificateArgs } from "../../src/validate/tools/nginx-site.js";

const exec = promisify(execFile);
const DOMAIN = "tsosi.localhost";
/** collectstatic's stand-in: one collected file under backend/static/. */
const COLLECTSTATIC = ["sh", "-c", "mkdir -p static/css && echo 'body{}' > static/css/app.css && echo collectstatic >> tasks.log"];

/** The nginx files gen renders for the test environment, every server path moved under the server's root. */
async function renderedSite(server: DeployServer): Promise<NginxFile[]> {
  const { files } = await renderedEnvironment(ENV_NAME, server.envDir);
  const underRoot = (text: string) =>
    text.replace(/^(\s*(?:root|alias)\s+)(\/)/gm, `$1${server.root}/`).replace(/(proxy_pass http:\/\/unix:)(\/)/g, `$1${server.root}/`);
  return files
    .filter((f) => f.path.startsWith("/etc/nginx/"))
    .map((f) => ({ path: f.path, content: underRoot(f.content), ...(f.linkTarget ? { linkTarget: f.linkTarget } : {}) }));
}

/** A deploy server whose site runs on a real nginx; the checks ask nginx on its loopback port. */
async function withSiteOnNginx(work: (server: DeployServer) => Promise<void>): Promise<void> {
  await withDeployServer(async (server) => {
    await server.writeEnv({ release: { tasks: [COLLECTSTATIC] } });
    await withDebianNginx(await renderedSite(server), [], async (nginx) => {
      assert.deepEqual(nginx.configTest, [], "the rendered site passes nginx -t");
      await server.writeEnv({ release: { tasks: [COLLECTSTATIC] }, checks: { nginxAddress: { host: "127.0.0.1", port: nginx.http }, skip: ["certificate"] } });
      await work(server);
    });
  });
}

describe("smoke checks after a deploy and gen check", { concurrency: 2 }, () => {
  it("checks Gunicorn on its socket and nginx on its address with the site's Host, a static file, the media folder and Celery; gen check agrees", () =>
    withSiteOnNginx(async (server) => {
      const run = await server.deploy();
      assert.equal(run.code, 0, run.all);
      assert.match(run.err, /^ {4}ok {3}gunicorn: \/run\/tsosi_gunicorn\.sock \(Host: tsosi\.localhost, \/api\/\) answered 200$/m);
      assert.match(run.err, /^ {4}ok {3}nginx: http:\/\/127\.0\.0\.1:\d+\/api\/ \(Host: tsosi\.localhost\) answered 200$/m);
      assert.match(run.err, /^ {4}ok {3}static: nginx for \/static\/css\/app\.css answered 200$/m);
      assert.match(run.err, /^ {4}ok {3}media: \/tsosi_media is readable by www-data$/m);
      assert.match(run.err, /^ {4}ok {3}celery: answered ping$/m);
      assert.deepEqual(server.gunicornRequests, [`${DOMAIN} /api/ 200`, `${DOMAIN} /api/ 200`], "asked once on the socket, once through nginx");

      const check = await server.gen(["check", ENV_NAME, "--json"]);
      assert.equal(check.code, 0, check.all);
      const report = assertJsonOutput<{ ok: boolean; hosts: { host: string; checks: { name: string; status: string }[] }[] }>("check", check.out);
      assert.equal(report.ok, true);
      assert.deepEqual(
        report.hosts[0]!.checks.map((c) => `${c.name} ${c.status}`),
        ["gunicorn ok", "nginx ok", "static ok", "media ok", "celery ok"],
      );
    }));

  it("waits for a Gunicorn still starting after its restart: a closed connection, and nginx's 502 meanwhile, mean not yet", () =>
    withSiteOnNginx(async (server) => {
      const first = await deployed(server);
      await server.startSeconds(GUNICORN_UNIT, 3);
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 0, run.all);
      assert.notEqual(await server.live(), first);
      assert.match(run.err, /^ {4}ok {3}gunicorn: \/run\/tsosi_gunicorn\.sock \(Host: tsosi\.localhost, \/api\/\) answered 200$/m);
      assert.match(run.err, /^ {4}ok {3}nginx: /m);

      // gen check from cron while a restart is under way: nginx answers 502 until Gunicorn is up.
      await server.restarting(GUNICORN_UNIT, 3);
      const check = await server.gen(["check", ENV_NAME, "--json"]);
      assert.equal(check.code, 0, check.all);
      const report = assertJsonOutput<{ hosts: { checks: { name: string; status: string }[] }[] }>("check", check.out);
      assert.deepEqual(
        report.hosts[0]!.checks.map((c) => `${c.name} ${c.status}`),
        ["gunicorn ok", "nginx ok", "static ok", "media ok", "celery ok"],
      );
    }));

  it("switches back a release whose Gunicorn answers 500, restarts, names the failed checks and exits 1", () =>
    withSiteOnNginx(async (server) => {
      const first = await deployed(server);
      await writeFile(join(server.app.checkout, STATUS_FILE), "500\n");
      await server.app.commit("A release that answers 500");
      await server.clearRecorded();
      await afterRelease(first);
      const run = await server.deploy();
      assert.equal(run.code, 1, run.all);
      assert.equal(await server.live(), first, "current points at the previous release again");
      assert.match(run.err, /deploy failed on 127\.0\.0\.1 at step 8: smoke check failed: gunicorn: .*answered 500; nginx: .*answered 500; switched back to /);
      assert.match(run.err, /the gunicorn, nginx check failed: switching back to /);
      const recorded = await server.recorded();
      assert.deepEqual(recorded.slice(0, RESTARTS.length), RESTARTS);
      assert.deepEqual(
        recorded.slice(RESTARTS.length, RESTARTS.length + WEB_RESTARTS.length),
        WEB_RESTARTS,
        `restarted after switching back: ${recorded.join("; ")}`,
      );

      const check = await server.gen(["check", ENV_NAME]);
      assert.equal(check.code, 0, check.all);
      assert.match(check.out, /^127\.0\.0\.1: ok {3}gunicorn: .* answered 200$/m);
    }));
});

describe("gen check without nginx", { concurrency: 2 }, () => {
  it("exits 1 naming the media folder the web user cannot read", () =>
    withDeployServer(async (server) => {
      await deployed(server);
      await chmod(server.file("/tsosi_media"), 0o700);
      const run = await server.gen(["check", ENV_NAME]);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /^127\.0\.0\.1: FAIL media: \/tsosi_media is not readable by www-data \(mode 700, /m);
      assert.match(run.out, /^127\.0\.0\.1: ok {3}gunicorn: /m);
    }));

  it("run during a restart, waits for Gunicorn up to checks.timeoutSeconds; fails with the last reason when it never comes", () =>
    withDeployServer(async (server) => {
      await deployed(server);
      await server.restarting(GUNICORN_UNIT, 3);
      const waited = await server.gen(["check", ENV_NAME]);
      assert.equal(waited.code, 0, waited.all);
      assert.match(waited.out, /^127\.0\.0\.1: ok {3}gunicorn: \/run\/tsosi_gunicorn\.sock \(Host: tsosi\.localhost, \/api\/\) answered 200$/m);

      await server.writeEnv({ checks: { timeoutSeconds: 2 } });
      await server.restarting(GUNICORN_UNIT, 60);
      const failed = await server.gen(["check", ENV_NAME]);
      assert.equal(failed.code, 1, failed.all);
      assert.match(failed.err, /^127\.0\.0\.1: FAIL gunicorn: no answer from \/run\/tsosi_gunicorn\.sock .*\(\d+ attempts in 2 s\)$/m);
    }));

  it("warns when the certificate has fewer days left than checks.certificateDays, without failing", () =>
    withDeployServer(async (server) => {
      const live = server.file(`/etc/letsencrypt/live/${DOMAIN}`);
      await mkdir(live, { recursive: true });
      await exec(
        "openssl",
        selfSignedCertificateArgs({ commonName: DOMAIN, days: 5, keyOut: join(live, "privkey.pem"), certOut: join(live, "fullchain.pem") }),
      );
      await server.writeEnv({ nginx: { tls: true }, checks: { skip: ["gunicorn", "nginx", "static", "media", "celery"], certificateDays: 14 } });
      const run = await server.gen(["check", ENV_NAME]);
      assert.equal(run.code, 0, run.all);
      assert.match(
        run.out,
        new RegExp(
          `^127\\.0\\.0\\.1: warn certificate: /etc/letsencrypt/live/${DOMAIN}/fullchain\\.pem expires in [45] days \\(on \\d{4}-\\d\\d-\\d\\d\\), fewer than 14$`,
          "m",
        ),
      );
    }));

  it("gen check, show, releases and rollback need no secret values (an emergency rollback is never blocked)", () =>
    withDeployServer(async (server) => {
      const first = await deployed(server);
      await afterRelease(first);
      const second = await deployed(server);
      await writeFile(join(server.envDir, `${ENV_NAME}.secrets.env`), "");
      for (const command of ["check", "releases"]) {
        const run = await server.gen([command, ENV_NAME]);
        assert.equal(run.code, 0, `gen ${command}: ${run.all}`);
      }
      const show = await runGen(["show", ENV_NAME, "--environments", server.envDir]);
      assert.equal(show.code, 0, show.all);
      const back = await server.gen(["rollback", ENV_NAME]);
      assert.equal(back.code, 0, back.all);
      assert.match(back.out, new RegExp(`${second} -> ${first} is live`));
      const render = await runGen(["render", ENV_NAME, "--stdout", "--environments", server.envDir]);
      assert.equal(render.code, 1, "render still needs them");
      assert.match(render.err, /secret TEST_SECRET_KEY is not set/);
    }));
});

async function deployed(server: DeployServer): Promise<string> {
  const run = await server.deploy();
  assert.equal(run.code, 0, run.all);
  return server.live();
}
