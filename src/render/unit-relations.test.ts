// The restart plan follows the units' Requires= lines: each unit restarts at most once, required units first.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { renderEnvironment } from "./render-environment.js";
import { restartOrder, unitRequires } from "./unit-relations.js";

const SECRETS = { TSOSI_DB_PASSWORD: "relations-test-password", TSOSI_SECRET_KEY: "relations-test-secret-key-0123456789-abcdefghijklmnop" };

async function prod() {
  return (await loadEnvironment("prod", { environmentsDir: `${packageRoot}/environments`, processEnv: SECRETS })).environment;
}

async function rendered() {
  const loaded = await loadEnvironment("prod", { environmentsDir: `${packageRoot}/environments`, processEnv: SECRETS });
  return renderEnvironment({ name: "prod", environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: loaded.environmentsDir }).files;
}

const shown = (order: ReturnType<typeof restartOrder>) => order.map((r) => `${r.verb} ${r.unit}${r.release ? ` (in ${r.release})` : ""}`);

test("the rendered units' Requires= lines are exactly the relations the restart plan uses", async () => {
  const env = await prod();
  const files = await rendered();
  const requires = unitRequires(env);
  for (const [unit, required] of Object.entries(requires)) {
    const file = files.find((f) => f.path === `/etc/systemd/system/${unit}`);
    assert.ok(file, unit);
    const lines = file.content.split("\n").filter((l) => l.startsWith("Requires="));
    assert.deepEqual(lines, required.length ? [`Requires=${required.join(" ")}`] : [], unit);
  }
});

test("a unit whose required unit restarts is only started after it; required units go first whatever the order asked", async () => {
  const env = await prod();
  assert.deepEqual(shown(restartOrder(["tsosi_celery_beat.service", "tsosi_celery.service"], env)), [
    "restart tsosi_celery.service (in /var/www/current/backend)",
    "start tsosi_celery_beat.service (in /var/www/current/backend)",
  ]);
  // Through two levels: Redis restarts the worker, which restarts beat.
  assert.deepEqual(shown(restartOrder(["tsosi_celery_beat.service", "redis-server.service"], env)), [
    "restart redis-server.service",
    "start tsosi_celery_beat.service (in /var/www/current/backend)",
  ]);
  assert.deepEqual(shown(restartOrder(["tsosi_celery_beat.service"], env)), ["restart tsosi_celery_beat.service (in /var/www/current/backend)"]);
});

test("a socket-activated service whose socket restarts is left to the socket; alone, it is restarted", async () => {
  const env = await prod();
  assert.deepEqual(shown(restartOrder(["tsosi_gunicorn.service", "tsosi_gunicorn.socket"], env)), ["restart tsosi_gunicorn.socket"]);
  assert.deepEqual(shown(restartOrder(["tsosi_gunicorn.service", "nginx.service"], env)), [
    "restart tsosi_gunicorn.service (in /var/www/current/backend)",
    "restart nginx.service",
  ]);
});
