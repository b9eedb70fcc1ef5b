// Which handlers a set of changed files calls for is derived from the manifest alone: tested without a server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { planChanges } from "../plan/plan-changes.js";
import type { FileSide } from "../plan/plan-types.js";
import { fileSha256, renderEnvironment } from "../render/render-environment.js";
import { handlerSteps, stepArgv } from "./handlers.js";

const SECRETS = { TSOSI_DB_PASSWORD: "handlers-test-password", TSOSI_SECRET_KEY: "handlers-test-secret-key-0123456789-abcdefghijklmnop" };

/**
 * The handlers of a plan where the `changed` files are missing on the server, or, with `fix`, are there with the
 * rendered content and `fix` applied to their mode, owner or group.
 */
async function planned(changed: string[], fix?: Partial<FileSide>) {
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
          ? fix
            ? ({ status: "ok", side: { sha256: fileSha256(f), mode: f.mode, owner: f.owner, group: f.group, ...fix } } as const)
            : ({ status: "missing" } as const)
          : ({ status: "ok", side: { sha256: "", mode: f.mode, owner: f.owner, group: f.group } } as const),
      ]),
    ),
    folders: new Map(),
  };
  const plan = planChanges("prod", files, [], [{ host: "h", roles: ["web", "worker"], state }]);
  const entries = plan.hosts[0]!.entries.filter((e) => changed.includes(e.path));
  return { entries, steps: handlerSteps(entries, loaded.environment).map((s) => stepArgv(s, loaded.environment).join(" ")) };
}

async function stepsFor(changed: string[]) {
  return (await planned(changed)).steps;
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

test("a mode, owner or group fix alone restarts, reloads and enables nothing, even of files whose content change would", async () => {
  const files = [
    "/home/deployer/config/settings_local.py",
    "/etc/systemd/system/tsosi_gunicorn.socket",
    "/etc/systemd/system/tsosi_celery.service",
    "/etc/nginx/sites-available/tsosi-app",
  ];
  for (const [fix, change] of [
    [{ mode: "0666" }, "mode"],
    [{ owner: "nobody" }, "owner"],
    [{ group: "nogroup" }, "group"],
  ] as const) {
    const { entries, steps } = await planned(files, fix);
    assert.deepEqual(entries.map((e) => [e.path, e.action, e.changes]).sort(), files.map((path) => [path, "change", [change]]).sort());
    assert.deepEqual(steps, [], `a ${change} fix ran handlers`);
  }
});
