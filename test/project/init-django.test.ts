// gen init in a Django project that is not TSOSI, through the bin as a user runs it: what it reads from the project,
// environments that render with no TSOSI value and no other deploy user's home, pass gen validate with the real
// tools, and deploy in the sandbox without a front end; a configured folder that does not exist stops a deploy
// before anything runs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { runBin } from "../support/run-bin.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-init-django-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

const MANAGE = (settings: string) => `#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "${settings}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
`;

const SETTINGS = (pkg: string) => `from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "development only"
DEBUG = True
ALLOWED_HOSTS = []
INSTALLED_APPS = ["django.contrib.staticfiles"]
ROOT_URLCONF = "${pkg}.urls"
WSGI_APPLICATION = "${pkg}.wsgi.application"
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"

# The server's settings (gen renders settings_local.py and links it here in each release).
from .settings_local import *  # noqa: E402,F401,F403
`;

const WSGI = (pkg: string) => `import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "${pkg}.settings")
application = get_wsgi_application()
`;

const POETRY_PYPROJECT = `[tool.poetry]
name = "shop"
version = "0.1.0"
description = "a shop"
authors = ["Shop <shop@example.org>"]

[tool.poetry.dependencies]
python = "^3.11"
django = "^4.2"
gunicorn = "^22.0"
psycopg2-binary = "^2.9"
`;

/** A Django project as startproject lays it out (manage.py at the root), in a git repository with a remote. */
async function djangoProject(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(temp, name);
  for (const [path, text] of Object.entries({ "package.json": JSON.stringify({ name, private: true }), ...files })) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  // gen installed as a dev dependency (this checkout), and ignored by git as npm projects do.
  await mkdir(join(dir, "node_modules"));
  await symlink(packageRoot, join(dir, "node_modules", "gen"));
  await writeFile(join(dir, ".gitignore"), "node_modules\n");
  git(dir, "init", "-q", "-b", "main");
  git(dir, "remote", "add", "origin", "https://token-not-to-copy@git.example.org/shop/shop.git");
  commit(dir, "the project");
  return dir;
}

function git(dir: string, ...args: string[]): string {
  const run = spawnSync("git", ["-C", dir, ...args], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

function commit(dir: string, title: string): void {
  git(dir, "add", "-A");
  git(dir, "-c", "user.name=Shop", "-c", "user.email=shop@example.org", "commit", "-q", "-m", title);
}

/** Every file under `dir` with its text, paths relative to it. */
async function tree(dir: string): Promise<{ path: string; text: string }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => ({ path: relative(dir, join(e.parentPath, e.name)), text: await readFile(join(e.parentPath, e.name), "utf8") })),
  );
}

test("gen init in a fresh Django project reads it, and its environments render with no TSOSI value, pass gen validate and deploy in the sandbox without a front end", async () => {
  const dir = await djangoProject("shop", {
    "manage.py": MANAGE("shop.settings"),
    "shop/__init__.py": "",
    "shop/settings.py": SETTINGS("shop"),
    "shop/wsgi.py": WSGI("shop"),
    "shop/urls.py": "urlpatterns = []\n",
    "pyproject.toml": POETRY_PYPROJECT,
  });
  const init = runBin(["init"], dir);
  assert.equal(init.code, 0, init.err);
  for (const found of ["manage.py in the repository's root", "settings shop.settings", "Poetry", "Python 3.11", "PostgreSQL", "git.example.org/shop/shop.git"])
    assert.ok(init.out.includes(found), `${found} in: ${init.out}`);
  assert.doesNotMatch(init.out, /^check:/m, "nothing left to check in a complete project");
  const base = await readFile(join(dir, "environments", "base.ts"), "utf8");
  assert.match(base, /extends: "preset:django"/);
  assert.match(base, /app: \{ name: "shop", domain: "shop\.example\.org", pythonVersion: "3\.11" \}/);
  assert.match(base, /django: \{ settingsModule: "shop\.settings" \}/);
  assert.match(base, /postgres: \{ password: secret\("DB_PASSWORD"\) \}/);
  assert.match(base, /release: \{ repository: "https:\/\/git\.example\.org\/shop\/shop\.git", repositoryFolder: "\." \}/);
  assert.doesNotMatch(base, /token-not-to-copy/);

  // Every file gen renders, with the secret values, for the sandbox and for a server whose deploy user is not "deployer".
  await writeFile(
    join(dir, "environments", "elsewhere.ts"),
    'import { defineEnvironment } from "gen";\n\nexport default defineEnvironment({ extends: "sandbox", server: { deployUser: "shopweb" } });\n',
  );
  for (const name of ["sandbox", "elsewhere"]) {
    const out = join(dir, "out", name);
    const render = runBin(["render", name, "--show-secrets", "--out", out], dir);
    assert.equal(render.code, 0, render.err);
    const files = await tree(out);
    assert.ok(files.some((f) => f.path === "etc/systemd/system/shop_gunicorn.service"));
    assert.ok(!files.some((f) => /celery/.test(f.path)), "no Celery in the project, none on the server");
    for (const file of files) assert.doesNotMatch(`${file.path}\n${file.text}`, /tsosi/i, file.path);
    if (name === "elsewhere") for (const file of files) assert.doesNotMatch(`${file.path}\n${file.text}`, /\/home\/deployer|\bdeployer\b/, file.path);
  }
  const settings = await readFile(join(dir, "out", "elsewhere", "home", "shopweb", "config", "settings_local.py"), "utf8");
  assert.match(settings, /^# Django settings of this server, imported by shop\.settings\./m);
  assert.match(settings, /"NAME": "shop",/);

  const validate = runBin(["validate", "sandbox"], dir);
  assert.equal(validate.code, 0, validate.out + validate.err);
  assert.match(validate.out, /0 cross-file problems, 0 tool checks failed, 0 not run/);

  commit(dir, "gen's environments");
  assert.equal(runBin(["apply", "sandbox", "--yes"], dir).code, 0);
  const deploy = runBin(["deploy", "sandbox", "--yes"], dir);
  assert.equal(deploy.code, 0, deploy.out + deploy.err);
  assert.match(deploy.err, /no front end to build \(release\.frontend is null\)/);
  const current = join(dir, ".gen-local", "sandbox", "var", "www", "current");
  assert.ok(existsSync(join(current, "backend", "manage.py")), "the repository's root is the release's backend");
  assert.ok(existsSync(join(current, "backend", "shop", "settings.py")));
  assert.ok(lstatSync(join(current, "backend", "shop", "settings_local.py")).isSymbolicLink(), "settings_local.py linked beside the settings");
  assert.ok(!existsSync(join(current, "backend", ".git")));
  assert.deepEqual(await readdir(join(current, "public")), ["deployment.json"]);
  // No build ran anywhere: the project's own node_modules is as it was.
  assert.ok(lstatSync(join(dir, "node_modules", "gen")).isSymbolicLink());
  const commands = await readFile(join(dir, ".gen-local", "sandbox", ".gen-sandbox", "commands.log"), "utf8");
  assert.doesNotMatch(commands, /celery|redis/);
});

test("gen init in a project with requirements.txt, manage.py in a folder, Celery, Redis and a front end fills each in", async () => {
  const dir = await djangoProject("ShopSite", {
    "src/manage.py": MANAGE("config.settings"),
    "src/config/__init__.py": "",
    "src/config/settings.py": SETTINGS("config").replace('BASE_DIR / "static"', 'BASE_DIR / "staticfiles"'),
    "src/config/wsgi.py": WSGI("config"),
    "src/config/urls.py": "urlpatterns = []\n",
    "src/requirements.txt":
      "# This file is autogenerated by pip-compile with Python 3.12\ndjango==5.0.1\ngunicorn==22.0.0\ncelery[redis]==5.3.6\nredis==5.0.1\n",
    "web/package.json": JSON.stringify({ name: "web", scripts: { build: "vite build" }, devDependencies: { vite: "^5" } }),
  });
  const init = runBin(["init"], dir);
  assert.equal(init.code, 0, init.err);
  const base = await readFile(join(dir, "environments", "base.ts"), "utf8");
  assert.match(base, /app: \{ name: "shopsite", domain: "shopsite\.example\.org", pythonVersion: "3\.12", poetry: null \}/);
  assert.match(base, /django: \{ settingsModule: "config\.settings" \}/);
  assert.match(base, /paths: \{ staticDir: "backend\/staticfiles" \}/);
  assert.match(base, /celery: \{\},/);
  assert.match(base, /redis: \{ settings: \{ CELERY_BROKER_URL: "url" \} \},/);
  assert.doesNotMatch(base, /postgres/);
  assert.match(base, /repositoryFolder: "src", frontend: \{ dir: "web", output: "web\/dist" \}/);
  const render = runBin(["render", "sandbox", "--show-secrets", "--stdout"], dir);
  assert.equal(render.code, 0, render.err);
  assert.match(render.out, /ExecStart=\/var\/www\/current\/backend\/\.venv\/bin\/celery -A config multi start shopsite /);
  assert.match(render.out, /^CELERY_BROKER_URL = "redis:\/\/127\.0\.0\.1:6379\/0"$/m);
  assert.match(render.out, /alias \/var\/www\/current\/backend\/staticfiles\/;/);
  assert.doesNotMatch(render.out, /tsosi/i);
  const validate = runBin(["validate", "sandbox"], dir);
  assert.equal(validate.code, 0, validate.out + validate.err);
});

test("a deploy whose front-end folder does not exist names it and runs nothing, in the project or in the sandbox", async () => {
  const dir = await djangoProject("nofront", {
    "manage.py": MANAGE("nofront.settings"),
    "nofront/__init__.py": "",
    "nofront/settings.py": SETTINGS("nofront"),
    "nofront/wsgi.py": WSGI("nofront"),
    "pyproject.toml": POETRY_PYPROJECT,
  });
  assert.equal(runBin(["init"], dir).code, 0);
  // A front end configured where there is none: npm would look for package.json in the folders above it.
  await writeFile(
    join(dir, "environments", "front.ts"),
    'import { defineEnvironment } from "gen";\n\nexport default defineEnvironment({ extends: "sandbox", release: { frontend: { dir: "frontend" } } });\n',
  );
  commit(dir, "environments");
  assert.equal(runBin(["apply", "front", "--yes"], dir).code, 0);
  const deploy = runBin(["deploy", "front", "--yes"], dir);
  assert.equal(deploy.code, 1, deploy.out + deploy.err);
  assert.match(deploy.err, new RegExp(`the front end's folder ${join(dir, "frontend")} \\(release\\.frontend\\.dir\\) does not exist`));
  assert.match(deploy.err, /nothing was run/);
  assert.doesNotMatch(deploy.out, /front-end build in|\$ npm/);
  assert.deepEqual(await readdir(join(dir, ".gen-local", "sandbox", "var", "www", "releases")), []);
  assert.ok(lstatSync(join(dir, "node_modules", "gen")).isSymbolicLink());
  assert.ok(!existsSync(join(dir, "package-lock.json")));
  // The backend's folder is checked the same way, in the commit.
  await writeFile(
    join(dir, "environments", "moved.ts"),
    'import { defineEnvironment } from "gen";\n\nexport default defineEnvironment({ extends: "sandbox", release: { repositoryFolder: "backend" } });\n',
  );
  commit(dir, "moved");
  const moved = runBin(["deploy", "moved", "--yes", "--no-apply"], dir);
  assert.equal(moved.code, 1);
  assert.match(moved.err, /the backend's folder backend\/ \(release\.repositoryFolder\) is not in commit [0-9a-f]{12}/);
});
