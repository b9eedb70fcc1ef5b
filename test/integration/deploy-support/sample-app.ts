// A small application to release: a git checkout with backend/ (manage.py, backend_site/), frontend/ and a file
// outside both, and a bare clone of it that the "server" (this same machine) clones by path.

import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

export const AUTHOR = { name: "Ada Tester", email: "ada@example.org" };

/**
 * Stands in for Django's manage.py: `showmigrations --plan` prints every <app>/migrations/NNNN_*.py as applied,
 * in Django's format (`[X]  app.0001_initial`), app by app; anything else prints "manage".
 */
export const MANAGE_PY = `#!/usr/bin/env python3
import glob, os, sys
if sys.argv[1:3] == ["showmigrations", "--plan"]:
    for path in sorted(glob.glob("*/migrations/[0-9]*.py")):
        app = path.split(os.sep)[0]
        print(f"[X]  {app}.{os.path.basename(path)[:-3]}")
else:
    print("manage")
`;

/** Adds <app>/migrations/<name>.py to the checkout (not committed). */
export async function addMigration(app: SampleApp, label: string, name: string): Promise<void> {
  await mkdir(join(app.checkout, "backend", label, "migrations"), { recursive: true });
  await writeFile(join(app.checkout, "backend", label, "migrations", `${name}.py`), "# a migration\n");
}

export interface SampleApp {
  /** The developer's checkout (gen deploy --repo). */
  checkout: string;
  /** The bare clone named by release.repository. */
  bare: string;
  git: (...args: string[]) => Promise<string>;
  /** Commits every change in the checkout and pushes it to the bare clone; returns the new hash. */
  commit: (title: string) => Promise<string>;
}

export async function createSampleApp(dir: string): Promise<SampleApp> {
  const checkout = join(dir, "app");
  const bare = join(dir, "app.git");
  await mkdir(join(checkout, "backend/backend_site"), { recursive: true });
  await mkdir(join(checkout, "frontend"), { recursive: true });
  await writeFile(join(checkout, "backend/manage.py"), MANAGE_PY);
  await writeFile(join(checkout, "backend/backend_site/__init__.py"), "");
  await writeFile(join(checkout, "backend/backend_site/settings.py"), "from .settings_local import *  # noqa\n");
  await writeFile(join(checkout, "frontend/package.json"), '{ "name": "frontend" }\n');
  await writeFile(join(checkout, "README.md"), "# sample app\n");
  // dist/ is build output, as in a real front end.
  await writeFile(join(checkout, ".gitignore"), "frontend/dist/\n");
  const git = async (...args: string[]) =>
    (await exec("git", ["-c", `user.name=${AUTHOR.name}`, "-c", `user.email=${AUTHOR.email}`, ...args], { cwd: checkout })).stdout.trim();
  await git("init", "-q", "-b", "main");
  const app: SampleApp = {
    checkout,
    bare,
    git,
    async commit(title) {
      await git("add", "-A");
      await git("commit", "-q", "-m", title);
      await git("push", "-q", bare, "HEAD");
      return git("rev-parse", "HEAD");
    },
  };
  await git("add", "-A");
  await git("commit", "-q", "-m", "First version of the sample app");
  await exec("git", ["clone", "-q", "--bare", checkout, bare]);
  return app;
}
