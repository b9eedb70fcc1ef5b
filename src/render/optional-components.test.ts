// preset:django and its optional components: each one absent (null) leaves nothing of itself in any file, rule,
// restart, smoke check or readiness check, and present adds exactly its own. Names and paths follow app.name and
// the deploy user; nothing of TSOSI is left.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { stringify } from "yaml";
import { enabledUnits, foreignUnits } from "../apply/handlers.js";
import { doctorSpec } from "../doctor/doctor-checks.js";
import { readinessList } from "../doctor/readiness-list.js";
import { loadEnvironment } from "../load/load-environment.js";
import { restartCommands } from "../release/releases.js";
import { smokeCheckNames, smokeCheckSpec } from "../release/smoke-checks.js";
import { runCrossChecks } from "../validate/cross-checks.js";
import { renderEnvironment } from "./render-environment.js";
import { djangoSettings } from "./settings.js";

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const SHOP = {
  extends: "preset:django",
  app: { name: "shop", domain: "shop.example.org" },
  server: { host: "shop.example.org", deployUser: "web" },
  django: { settingsModule: "shop.settings", settings: { SECRET_KEY: { secret: "DJANGO_SECRET_KEY", default: "django-secret-key-0123456789" } } },
};

/** preset:django for a shop application, with `overrides` merged over it by the loader (as a user's file would be). */
async function shop(overrides: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "gen-optional-"));
  dirs.push(dir);
  writeFileSync(join(dir, "base.yaml"), stringify(SHOP));
  writeFileSync(join(dir, "shop.yaml"), stringify({ extends: "base", ...overrides }));
  const loaded = await loadEnvironment("shop", { environmentsDir: dir, processEnv: { DB_PASSWORD: "db-password-0123" } });
  const rendered = renderEnvironment({ name: "shop", environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: dir });
  const file = (path: string) => rendered.files.find((f) => f.path === path)?.content ?? assert.fail(`no ${path}`);
  return { env: loaded.environment, rendered, file, paths: rendered.files.map((f) => f.path) };
}

const doctor = (env: Parameters<typeof doctorSpec>[0]) => doctorSpec(env, { envName: "shop", roles: ["web", "worker"], root: "/", minFreeMb: 1 });

describe("preset:django alone", () => {
  test("renders Gunicorn, nginx, logrotate, settings and sudoers named after app.name, with no TSOSI and no other deploy user", async () => {
    const { rendered, paths } = await shop();
    assert.deepEqual(paths, [
      "/etc/logrotate.d/shop",
      "/etc/nginx/sites-available/shop",
      "/etc/nginx/sites-enabled/shop",
      "/etc/sudoers.d/shop",
      "/etc/systemd/system/shop_gunicorn.service",
      "/etc/systemd/system/shop_gunicorn.socket",
      "/etc/systemd/system/shop_gunicorn_handover.service",
      "/home/web/config/settings_local.py",
    ]);
    for (const f of rendered.files) {
      assert.doesNotMatch(`${f.path}\n${f.content}`, /tsosi/i, f.path);
      assert.doesNotMatch(`${f.path}\n${f.content}`, /\/home\/deployer|\bdeployer\b/, f.path);
    }
    assert.deepEqual(
      rendered.manifest.folders.map((f) => `${f.path} ${f.owner}:${f.group}`),
      ["/var/www web:www-data", "/var/www/releases web:web", "/var/log/shop web:web", "/shop_media web:www-data", "/home/web/config root:web"],
    );
  });

  test("without a front end, nginx sends every path but static and media to Gunicorn, and the smoke checks ask Django at /", async () => {
    const { env, file } = await shop();
    const site = file("/etc/nginx/sites-available/shop");
    assert.doesNotMatch(site, /try_files|root \/var\/www\/current\/public/);
    assert.match(site, /location \/ \{\n(.*\n){5}\s+proxy_pass http:\/\/unix:\/run\/shop_gunicorn\.sock;/);
    assert.match(site, /location \/static\/ \{/);
    assert.match(site, /location \/media\/ \{\n\s+alias \/shop_media\/;/);
    assert.equal(env.checks.path, "/");
    assert.equal(smokeCheckSpec(env, { roles: ["web"], celery: true, root: "/" }).gunicorn.path, "/");
  });

  test("has no Celery, Redis or PostgreSQL: no units, rules, settings, restarts, checks or readiness checks of theirs", async () => {
    const { env, file, rendered } = await shop();
    assert.deepEqual(runCrossChecks({ source: "shop", environment: env, files: rendered.files, folders: rendered.manifest.folders }), []);
    assert.doesNotMatch(file("/etc/sudoers.d/shop"), /celery|redis/);
    assert.match(file("/etc/sudoers.d/shop"), /^web ALL=\(root\) NOPASSWD: \/usr\/bin\/systemctl restart nginx,/m);
    assert.deepEqual(
      djangoSettings(env).map(([name]) => name),
      ["ALLOWED_HOSTS", "DEBUG", "MEDIA_ROOT", "MEDIA_URL", "SECRET_KEY", "STATIC_URL"],
    );
    assert.deepEqual(env.server.systemServices, ["nginx"]);
    assert.deepEqual(enabledUnits(env), ["shop_gunicorn.socket"]);
    assert.deepEqual([...foreignUnits(env, ["web"])], []);
    assert.deepEqual(restartCommands(env, { celery: true, roles: ["worker"] }), []);
    assert.deepEqual(smokeCheckNames(env, { roles: ["web", "worker"], celery: true }), ["gunicorn", "nginx", "static", "media", "certificate"]);
    const spec = doctor(env);
    assert.equal(spec.postgres, null);
    assert.equal(spec.redis, null);
    assert.notEqual(spec.poetry, null);
    assert.doesNotMatch(readinessList(spec).join("\n"), /PostgreSQL|Redis/);
  });
});

describe("each component, added", () => {
  test("celery: a worker and beat, their rules, restarts, enabled units, log files and the celery check", async () => {
    const { env, paths, file, rendered } = await shop({ celery: {} });
    assert.ok(paths.includes("/etc/systemd/system/shop_celery.service"));
    assert.ok(paths.includes("/etc/systemd/system/shop_celery_beat.service"));
    assert.match(file("/etc/systemd/system/shop_celery.service"), / -A shop multi start shop /);
    assert.match(file("/etc/sudoers.d/shop"), /systemctl restart shop_celery_beat/);
    assert.deepEqual(enabledUnits(env), ["shop_gunicorn.socket", "shop_celery.service", "shop_celery_beat.service"]);
    assert.deepEqual(
      restartCommands(env, { celery: true, roles: ["worker"] }).map((c) => `${c.verb} ${c.unit}`),
      ["restart shop_celery.service", "start shop_celery_beat.service"],
    );
    assert.ok(smokeCheckNames(env, { roles: ["worker"], celery: true }).includes("celery"));
    assert.deepEqual(runCrossChecks({ source: "shop", environment: env, files: rendered.files, folders: rendered.manifest.folders }), []);
  });

  test("celery without beat: the worker alone", async () => {
    const { env, paths, file } = await shop({ celery: { beat: null } });
    assert.ok(paths.includes("/etc/systemd/system/shop_celery.service"));
    assert.ok(!paths.some((p) => p.includes("beat")), paths.join(", "));
    assert.doesNotMatch(file("/etc/sudoers.d/shop"), /beat/);
    assert.deepEqual(enabledUnits(env), ["shop_gunicorn.socket", "shop_celery.service"]);
  });

  test("redis: CACHES, the settings that name it, its unit among the system services", async () => {
    const { env, file } = await shop({ celery: {}, redis: { settings: { CELERY_BROKER_URL: "url" } } });
    const settings = file("/home/web/config/settings_local.py");
    assert.match(settings, /^CACHES = \{/m);
    assert.match(settings, /^CELERY_BROKER_URL = "redis:\/\/127\.0\.0\.1:6379\/0"$/m);
    assert.deepEqual(env.server.systemServices, ["nginx", "redis-server"]);
    assert.match(file("/etc/systemd/system/shop_celery.service"), /^Requires=redis-server\.service$/m);
    assert.ok(doctor(env).redis);
  });

  test("postgres: DATABASES with the database and its user named after the application, and the login check", async () => {
    const { env, file } = await shop({ postgres: { password: { secret: "DB_PASSWORD" } } });
    assert.match(file("/home/web/config/settings_local.py"), /"NAME": "shop",\n\s+"USER": "shop",/);
    assert.equal(doctor(env).postgres?.shownDatabase, "shop");
  });

  test("a front end: nginx serves its build from the release and proxies the API's prefix, which the checks ask", async () => {
    const { env, file } = await shop({ release: { frontend: {} } });
    const site = file("/etc/nginx/sites-available/shop");
    assert.match(site, /root \/var\/www\/current\/public;\n\s+location \/ \{\n\s+try_files \$uri \/index\.html;/);
    assert.match(site, /location \/api\/ \{\n(.*\n){5}\s+proxy_pass http:\/\/unix:\/run\/shop_gunicorn\.sock;/);
    assert.equal(env.checks.path, "/api/");
  });

  test("no media: no folder, location, settings or media check", async () => {
    const { env, file, rendered } = await shop({ paths: { media: null } });
    assert.doesNotMatch(file("/etc/nginx/sites-available/shop"), /media/);
    assert.doesNotMatch(file("/home/web/config/settings_local.py"), /MEDIA/);
    assert.ok(!rendered.manifest.folders.some((f) => f.path.includes("media")));
    assert.ok(!smokeCheckNames(env, { roles: ["web"], celery: true }).includes("media"));
  });

  test("no Poetry: a .venv in each release, installed with pip; the units run from the live release's", async () => {
    const { env, file } = await shop({ app: { poetry: null, pythonVersion: "3.11" } });
    assert.match(file("/etc/systemd/system/shop_gunicorn.service"), /^ExecStart=\/var\/www\/current\/backend\/\.venv\/bin\/gunicorn --workers/m);
    assert.deepEqual(env.release.install, [
      ["python3.11", "-m", "venv", ".venv"],
      [".venv/bin/pip", "install", "--no-input", "-r", "requirements.txt"],
    ]);
    assert.deepEqual(env.release.tasks[0], [".venv/bin/python", "manage.py", "collectstatic", "--noinput"]);
    assert.equal(doctor(env).poetry, null);
  });

  test("null over a base's component removes it again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gen-optional-"));
    dirs.push(dir);
    writeFileSync(join(dir, "base.yaml"), stringify({ ...SHOP, celery: {} }));
    writeFileSync(join(dir, "quiet.yaml"), stringify({ extends: "base", celery: null }));
    const loaded = await loadEnvironment("quiet", { environmentsDir: dir, processEnv: {} });
    assert.equal(loaded.environment.celery, null);
  });
});
