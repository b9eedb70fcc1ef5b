// Which handlers a set of changed files calls for is derived from the manifest alone: tested without a server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { planChanges } from "../plan/plan-changes.js";
import type { FileSide } from "../plan/plan-types.js";
import { fileSha256, renderEnvironment } from "../render/render-environment.js";
import { foreignUnits, handlerSteps, stepArgv } from "./handlers.js";

const SECRETS = { TSOSI_DB_PASSWORD: "handlers-test-password", TSOSI_SECRET_KEY: "handlers-test-secret-key-0123456789-abcdefghijklmnop" };

/**
 * The handlers of a plan where the `changed` files are missing on the server, or, with `fix`, are there with the
 * rendered content and `fix` applied to their mode, owner or group, or, with "edited", are there with other content
 * (a link: another target). `roles`: the host's.
 */
async function planned(changed: string[], fix?: Partial<FileSide> | "edited", roles = ["web", "worker"]) {
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
          ? fix === "edited"
            ? ({ status: "ok", side: { sha256: "0".repeat(64), mode: f.mode, owner: f.owner, group: f.group, linkTarget: "/elsewhere" } } as const)
            : fix
              ? ({ status: "ok", side: { sha256: fileSha256(f), mode: f.mode, owner: f.owner, group: f.group, ...fix } } as const)
              : ({ status: "missing" } as const)
          : ({ status: "ok", side: { sha256: "", mode: f.mode, owner: f.owner, group: f.group } } as const),
      ]),
    ),
    folders: new Map(),
  };
  const plan = planChanges("prod", files, [], [{ host: "h", roles, state }]);
  const entries = plan.hosts[0]!.entries.filter((e) => changed.includes(e.path));
  return { entries, steps: handlerSteps(entries, loaded.environment, roles).map((s) => stepArgv(s, loaded.environment).join(" ")) };
}

const env = (await loadEnvironment("prod", { environmentsDir: `${packageRoot}/environments`, processEnv: SECRETS })).environment;

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

test("a file in place whose content changed, and a link that leads elsewhere, call the handlers a new file calls", async () => {
  const site = ["/etc/nginx/sites-enabled/tsosi-app"];
  const edited = await planned(site, "edited");
  assert.deepEqual(
    edited.entries.map((e) => [e.action, e.changes]),
    [["change", ["link"]]],
  );
  assert.deepEqual(edited.steps, ["/usr/sbin/nginx -t -q", "/usr/bin/systemctl reload nginx.service"]);
  const unit = ["/etc/systemd/system/tsosi_celery.service"];
  const changed = await planned(unit, "edited");
  assert.deepEqual(
    changed.entries.map((e) => [e.action, e.changes]),
    [["change", ["content"]]],
  );
  assert.deepEqual(changed.steps, await stepsFor(unit));
});

test("a host runs only its roles' handlers: a worker host neither tests nor reloads nginx nor touches Gunicorn", async () => {
  const files = [
    "/home/deployer/config/settings_local.py",
    "/etc/systemd/system/tsosi_gunicorn.socket",
    "/etc/systemd/system/tsosi_celery.service",
    "/etc/nginx/sites-available/tsosi-app",
  ];
  assert.deepEqual((await planned(files, undefined, ["worker"])).steps, [
    "/usr/bin/systemctl daemon-reload",
    "/usr/bin/systemctl enable tsosi_celery.service",
    "/usr/bin/systemctl restart tsosi_celery.service",
    "/usr/bin/systemctl start tsosi_celery_beat.service",
  ]);
  assert.deepEqual((await planned(files, undefined, ["web"])).steps, [
    "/usr/bin/systemctl daemon-reload",
    "/usr/bin/systemctl enable tsosi_gunicorn.socket",
    "/usr/sbin/nginx -t -q",
    "/usr/bin/systemctl reload nginx.service",
    "/usr/bin/systemctl restart tsosi_gunicorn.socket",
  ]);
  // A unit file of the web role on a worker host (an extra file can name any unit): systemd rereads it, and nothing
  // of the web role is enabled or restarted; no enable step with no unit is left.
  const socket = await planned(["/etc/systemd/system/tsosi_gunicorn.socket"]);
  assert.deepEqual(handlerSteps(socket.entries, env, ["worker"]), [{ action: "daemon-reload" }]);
});

test("each step is one systemctl call with its verb and units, and the nginx test is the configured command", () => {
  const argv = (step: Parameters<typeof stepArgv>[0]) => stepArgv(step, env).join(" ");
  assert.deepEqual(
    [
      argv({ action: "enable", units: ["a.socket", "b.service"] }),
      argv({ action: "disable", units: ["a.socket", "b.service"] }),
      argv({ action: "stop", unit: "b.service" }),
      argv({ action: "reset-failed", unit: "b.service" }),
      argv({ action: "start", unit: "b.service", release: "/srv/current" }),
      argv({ action: "nginx-test" }),
    ],
    [
      "/usr/bin/systemctl enable a.socket b.service",
      "/usr/bin/systemctl disable a.socket b.service",
      "/usr/bin/systemctl stop b.service",
      "/usr/bin/systemctl reset-failed b.service",
      "/usr/bin/systemctl start b.service",
      "/usr/sbin/nginx -t -q",
    ],
  );
});

test("every changed unit that boots is enabled, each once; a unit that does not boot is reloaded and restarted only", async () => {
  assert.deepEqual(await stepsFor(["/etc/systemd/system/tsosi_gunicorn.socket", "/etc/systemd/system/tsosi_celery_beat.service"]), [
    "/usr/bin/systemctl daemon-reload",
    "/usr/bin/systemctl enable tsosi_gunicorn.socket tsosi_celery_beat.service",
    "/usr/bin/systemctl restart tsosi_celery_beat.service",
    "/usr/bin/systemctl restart tsosi_gunicorn.socket",
  ]);
  assert.deepEqual(await stepsFor(["/etc/systemd/system/tsosi_gunicorn.service"]), [
    "/usr/bin/systemctl daemon-reload",
    "/usr/bin/systemctl restart tsosi_gunicorn.service",
  ]);
});

test("a restart of a unit that runs in a release waits for one: the step names the release folder", async () => {
  const { entries } = await planned(["/home/deployer/config/settings_local.py"]);
  const steps = handlerSteps(entries, env, ["web", "worker"]);
  assert.deepEqual(
    steps.filter((s) => s.action === "restart"),
    [
      { action: "restart", unit: "tsosi_gunicorn.service", release: `${env.paths.current}/${env.paths.backendDir}` },
      { action: "restart", unit: "tsosi_celery.service", release: `${env.paths.current}/${env.paths.backendDir}` },
    ],
  );
});

test("a worker host runs none of the web role's handlers, even for files of both roles that call them", async () => {
  // Files planned for a host of both roles, handled on a worker host: the site's test and reload, Gunicorn's units.
  const { entries } = await planned([
    "/etc/nginx/sites-available/tsosi-app",
    "/etc/systemd/system/tsosi_gunicorn.service",
    "/etc/systemd/system/tsosi_gunicorn_handover.service",
    "/home/deployer/config/settings_local.py",
  ]);
  assert.deepEqual(
    handlerSteps(entries, env, ["worker"]).map((s) => stepArgv(s, env).join(" ")),
    ["/usr/bin/systemctl daemon-reload", "/usr/bin/systemctl restart tsosi_celery.service", "/usr/bin/systemctl start tsosi_celery_beat.service"],
  );
  // Every unit of the web role is foreign there, the handover service too (no handler names it today: a future one
  // must not run on a worker host).
  assert.deepEqual([...foreignUnits(env, ["worker"])].sort(), [
    "nginx.service",
    "tsosi_gunicorn.service",
    "tsosi_gunicorn.socket",
    "tsosi_gunicorn_handover.service",
  ]);
});
