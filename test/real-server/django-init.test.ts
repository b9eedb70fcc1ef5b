// A Django project that is not TSOSI, from `gen init` to a release served by Gunicorn through nginx on a real server:
// a Debian 12 container with systemd as its PID 1, provisioned as the README asks, for an application named shop
// whose deploy user is shopweb (not deployer) and whose domain is shop.test. The project is made here as
// `django-admin startproject` lays it out (manage.py, the settings and WSGI modules, Poetry), with a git remote that
// is the server's repository; gen init reads it, and the operator only adds the server's environment. Everything
// runs through gen's bin; every effect is read from the server.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chownSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { packageRoot } from "../../src/paths.js";
import { genBin, runBin } from "../support/run-bin.js";
import { testCacheHome } from "../support/test-cache-home.js";
import { type Container, type RunResult, startContainer } from "./support/container.js";
import { idsOf, makeClientKey, provisionServer } from "./support/provision.js";
import { requestInContainer } from "./support/real-server.js";

const ACCOUNTS = { admin: "admin", deployUser: "shopweb", domain: "shop.test" };
/** The bare repository inside the container: the project's git remote, which the deploy user clones. */
const REPOSITORY = "/srv/git/shop.git";
const SECRET_KEY = "real-server-shop-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz";
const UNITS = ["shop_gunicorn.socket", "shop_gunicorn.service"];

const git = promisify(execFile);
let container: Container;
let project = "";
let clientKey = "";

const FILES: Record<string, string> = {
  "manage.py": `#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
`,
  "shop/__init__.py": "",
  "shop/settings.py": `from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "development only"
DEBUG = True
ALLOWED_HOSTS = []
INSTALLED_APPS = ["django.contrib.staticfiles", "shop"]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"

# The server's settings (gen renders settings_local.py and links it here in each release).
from .settings_local import *  # noqa: E402,F401,F403
`,
  "shop/wsgi.py": `import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = get_wsgi_application()
`,
  "shop/urls.py": `from pathlib import Path

from django.http import HttpResponse
from django.urls import path


def home(request):
    return HttpResponse(f"shop is open in {Path(__file__).resolve().parent.parent.parent.name}\\n", content_type="text/plain")


urlpatterns = [path("", home)]
`,
  "shop/static/shop/shop.css": "body { color: teal; }\n",
  // Debian's python3-django and gunicorn serve it (the container has no package index): nothing to install, and
  // Poetry's in-project virtualenv sees Debian's packages (provision.ts).
  "pyproject.toml": `[tool.poetry]
name = "shop"
version = "0.1.0"
description = "a shop"
authors = ["Shop <shop@example.org>"]

[tool.poetry.dependencies]
python = "^3.11"

[build-system]
requires = ["poetry-core>=1.0.0"]
build-backend = "poetry.core.masonry.api"
`,
  ".gitignore": "node_modules\n__pycache__\n",
  "package.json": JSON.stringify({ name: "shop", private: true, devDependencies: { gen: "*" } }),
};

before(async () => {
  container = await startContainer({
    log: (line) => console.error(`# ${line}`),
    provision: async (root, { workDir }) => {
      clientKey = await makeClientKey(workDir);
      await provisionServer(root, { ...ACCOUNTS, clientKey });
    },
  });
  project = join(container.workDir, "shop");
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), text);
  }
  // gen installed as a dev dependency (this checkout).
  mkdirSync(join(project, "node_modules"));
  symlinkSync(packageRoot, join(project, "node_modules", "gen"));
  await gitIn("init", "-q", "-b", "main");
  await gitIn("remote", "add", "origin", REPOSITORY);
  await git("git", ["init", "-q", "--bare", "-b", "main", join(container.root, REPOSITORY)]);
  await commit("the shop");
});

after(async () => {
  await container?.stop();
});

function gitIn(...args: string[]) {
  const config = join(container.workDir, "gitconfig");
  writeFileSync(config, "[safe]\n\tdirectory = *\n[user]\n\tname = Shop\n\temail = shop@example.org\n");
  return git("git", args, { cwd: project, env: { ...process.env, GIT_CONFIG_GLOBAL: config } });
}

/** Commits the checkout and pushes it to the server's repository, which is the deploy user's. */
async function commit(title: string): Promise<void> {
  await gitIn("add", "-A");
  await gitIn("commit", "-q", "--allow-empty", "-m", title);
  const bare = join(container.root, REPOSITORY);
  await gitIn("push", "-q", bare, "HEAD:main");
  const { uid, gid } = idsOf(container.root, ACCOUNTS.deployUser);
  chownTree(bare, uid, gid);
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** gen's bin in the container's network namespace, from the project folder, as the operator runs it. */
function gen(args: string[]): Promise<RunResult> {
  const known = join(container.workDir, "known_hosts");
  return container.inNet([process.execPath, genBin, ...args, "--known-hosts", known, "--identity", clientKey], {
    cwd: project,
    env: { NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome(), SSH_AUTH_SOCK: "" },
    timeoutMs: 600_000,
  });
}

function request(path: string): Promise<{ status: number; body: string }> {
  return requestInContainer(container, ACCOUNTS.domain, path);
}

describe("a Django project's gen init, deployed on a real server", { concurrency: 1 }, () => {
  it("gen init reads the project and writes environments on preset:django", async () => {
    const init = runBin(["init"], project);
    assert.equal(init.code, 0, init.out + init.err);
    for (const found of ["manage.py in the repository's root", "settings shop.settings", "Python 3.11", `the git remote origin (${REPOSITORY})`])
      assert.ok(init.out.includes(found), `${found} in:\n${init.out}`);
    // The server's environment, as the operator writes it from gen init's prod.ts.
    writeFileSync(
      join(project, "environments", "container.ts"),
      `import { defineEnvironment } from "gen";

export default defineEnvironment({
  extends: "base",
  description: "The real-server tier's container",
  server: { host: "127.0.0.1", sshUser: "${ACCOUNTS.admin}", deployUser: "${ACCOUNTS.deployUser}", connectTimeoutSeconds: 60 },
  app: { domain: "${ACCOUNTS.domain}", extraAllowedHosts: ["127.0.0.1"], poetry: "/usr/bin/poetry" },
});
`,
    );
    writeFileSync(join(project, "environments", "container.secrets.env"), `DJANGO_SECRET_KEY=${SECRET_KEY}\n`);
    const hostKey = (await container.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])).out.trim().split(" ").slice(0, 2).join(" ");
    writeFileSync(join(container.workDir, "known_hosts"), `127.0.0.1 ${hostKey}\n`);
    await commit("gen's environments");
  });

  it("gen doctor names the deploy user's missing group, and passes once the administrator added it", async () => {
    const first = await gen(["doctor", "container"]);
    assert.equal(first.code, 1, first.out + first.err);
    assert.match(first.out + first.err, /FAIL group www-data: shopweb is not in group www-data/);
    assert.equal((await container.exec(["usermod", "-aG", "www-data", ACCOUNTS.deployUser])).code, 0);
    const ready = await gen(["doctor", "container"]);
    assert.equal(ready.code, 0, ready.out + ready.err);
  });

  it("gen apply installs the shop's files, with nothing of TSOSI or of another deploy user in them", async () => {
    const run = await gen(["apply", "container", "--yes"]);
    assert.equal(run.code, 0, run.out + run.err);
    assert.equal((await container.exec(["systemctl", "is-enabled", "shop_gunicorn.socket"])).out.trim(), "enabled");
    const files = [
      "/etc/sudoers.d/shop",
      "/etc/nginx/sites-available/shop",
      "/etc/logrotate.d/shop",
      "/etc/systemd/system/shop_gunicorn.socket",
      "/etc/systemd/system/shop_gunicorn.service",
      "/etc/systemd/system/shop_gunicorn_handover.service",
      "/home/shopweb/config/settings_local.py",
    ];
    const all = await container.exec(["cat", ...files]);
    assert.equal(all.code, 0, all.err);
    assert.doesNotMatch(all.out, /tsosi/i);
    assert.doesNotMatch(all.out, /deployer/);
    const named = await container.exec(["sh", "-c", "find /etc /home /var/www /var/log /run -iname '*tsosi*' -o -iname '*celery*' | head"]);
    assert.equal(named.out.trim(), "", "a file named for TSOSI or Celery on the server");
    const diff = await gen(["diff", "container"]);
    assert.equal(diff.code, 0, diff.out + diff.err);
  });

  it("gen deploy clones the remote gen init read, starts Gunicorn, and nginx serves the site, its static files and its checks", async () => {
    const run = await gen(["deploy", "container", "--yes"]);
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(run.err, /no front end to build \(release\.frontend is null\)/);
    for (const unit of UNITS) assert.equal((await container.exec(["systemctl", "is-active", unit])).out.trim(), "active", unit);
    const release = (await container.exec(["readlink", "/var/www/current"])).out.trim().split("/").pop();
    const home = await request("/");
    assert.equal(home.status, 200, home.body);
    assert.equal(home.body, `shop is open in ${release}\n`);
    const css = await request("/static/shop/shop.css");
    assert.equal(css.status, 200, css.body);
    assert.match(css.body, /color: teal/);
    const settings = await container.exec(["cat", "/var/www/current/backend/shop/settings_local.py"]);
    assert.match(settings.out, /^ALLOWED_HOSTS = \["shop\.test", "127\.0\.0\.1"\]$/m);
    const check = await gen(["check", "container"]);
    assert.equal(check.code, 0, check.out + check.err);
  });
});
