// Which handlers a set of changed files calls for is derived from the manifest alone: tested without a server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { planChanges } from "../plan/plan-changes.js";
import { renderEnvironment } from "../render/render-environment.js";
import { handlerSteps, stepArgv } from "./handlers.js";

const SECRETS = { TSOSI_DB_PASSWORD: "handlers-test-password", TSOSI_SECRET_KEY: "handlers-test-secret-key-0123456789-abcdefghijklmnop" };

async function stepsFor(changed: string[]) {
  const loaded = await loadEnvironment("prod", { environmentsDir: `${packageRoot}/environments`, processEnv: SECRETS });
  const { files } = renderEnvironment({
    name: "prod",
    environment: loaded.environment,
    secrets: loaded.secrets.lookup,
    environmentsDir: loaded.environmentsDir,
  });
  const state = {
    transport: "t",
    files: new Map(
      files.map((f) => [
        f.path,
        changed.includes(f.path)
          ? ({ status: "missing" } as const)
          : ({ status: "ok", side: { sha256: "", mode: f.mode, owner: f.owner, group: f.group } } as const),
      ]),
    ),
    folders: new Map(),
  };
  const plan = planChanges("prod", files, [], [{ host: "h", roles: ["web", "worker"], state }]);
  const entries = plan.hosts[0]!.entries.filter((e) => changed.includes(e.path));
  return handlerSteps(entries, loaded.environment).map((s) => stepArgv(s, loaded.environment).join(" "));
}

test("sudoers and logrotate changes run no handler", async () => {
  assert.deepEqual(await stepsFor(["/etc/sudoers.d/tsosi", "/etc/logrotate.d/tsosi"]), []);
});

test("a changed service unit reloads systemd, enables what boots, and restarts only that service", async () => {
  assert.deepEqual(await stepsFor(["/etc/systemd/system/tsosi_celery.service"]), [
    "/usr/bin/systemctl daemon-reload",
    "/usr/bin/systemctl enable tsosi_celery.service",
    "/usr/bin/systemctl restart tsosi_celery.service",
  ]);
});

test("the nginx site is tested before nginx is reloaded, once for the site and its link", async () => {
  assert.deepEqual(await stepsFor(["/etc/nginx/sites-available/tsosi-app", "/etc/nginx/sites-enabled/tsosi-app"]), [
    "/usr/sbin/nginx -t -q",
    "/usr/bin/systemctl reload nginx.service",
  ]);
});

test("settings_local.py restarts every service that reads it, each once", async () => {
  assert.deepEqual(await stepsFor(["/home/deployer/config/settings_local.py"]), [
    "/usr/bin/systemctl restart tsosi_gunicorn.service",
    "/usr/bin/systemctl restart tsosi_celery.service",
    // Restarting the worker restarts beat (it Requires= the worker): beat is only started, in case it was not running.
    "/usr/bin/systemctl start tsosi_celery_beat.service",
  ]);
});

test("a changed socket restarts the service with it: the service is not restarted a second time, nor started", async () => {
  assert.deepEqual(await stepsFor(["/home/deployer/config/settings_local.py", "/etc/systemd/system/tsosi_gunicorn.socket"]), [
    "/usr/bin/systemctl daemon-reload",
    "/usr/bin/systemctl enable tsosi_gunicorn.socket",
    "/usr/bin/systemctl restart tsosi_gunicorn.socket",
    "/usr/bin/systemctl restart tsosi_celery.service",
    "/usr/bin/systemctl start tsosi_celery_beat.service",
  ]);
});
