// gen as a user gets it: the packed tarball installed into a fresh project (offline: gen's own dependencies come
// from the npm cache through a lockfile made from gen's), used by an unprivileged user whose installed package
// is read-only. Nothing here reaches the network.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { genTestUser, readmeSandboxLoop, runAs, sandboxLoop, type Unprivileged } from "../support/sandbox-loop.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-installed-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

function run(argv: string[], cwd: string): { code: number; out: string } {
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
  return { code: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

/** `npm pack` without its prepare script: the suite runs on the build it just made. */
function pack(): { tarball: string; files: string[] } {
  const packed = run(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", temp], packageRoot);
  assert.equal(packed.code, 0, packed.out);
  const [info] = JSON.parse(packed.out.slice(packed.out.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  return { tarball: join(temp, info!.filename), files: info!.files.map((f) => f.path) };
}

/**
 * A consumer project depending on the tarball, with a lockfile that pins gen's dependencies as gen's own lockfile
 * does, so `npm ci --offline` installs them from the cache the checkout's `npm ci` filled.
 */
function consumerProject(dir: string, tarball: string): void {
  const lock = JSON.parse(readFileSync(join(packageRoot, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as Record<string, unknown>;
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies: { gen: spec } },
    "node_modules/gen": { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith("node_modules/") && !entry.dev) packages[path] = entry;
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, dependencies: { gen: spec } }, null, 2));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ name: "consumer", lockfileVersion: 3, requires: true, packages }, null, 2));
}

test("the packed gen installs into a fresh project and works there: init, tsc, render, the sandbox loop, the README's loop as written; apply without environments refuses", async () => {
  const { tarball, files } = pack();
  // What runs, and nothing else: no sources, tests or bench (the list below). The count is a coarse bound: each
  // command's lazily loaded module is a file of the bundle, and each --json document has its schema (104 with gen
  // status, logs and run).
  assert.ok(files.length < 130, `${files.length} files in the tarball`);
  for (const needed of [
    "dist/bundle/main.js",
    "dist/schema/define.js",
    "dist/types/define.d.ts",
    "dist/environment.schema.json",
    "presets/django.ts",
    "presets/tsosi.ts",
    "presets/example.ts",
    "templates/nginx-site.njk",
    "sample-app/backend/manage.py",
  ]) {
    assert.ok(files.includes(needed), `${needed} is in the tarball`);
  }
  assert.deepEqual(
    files.filter((f) => /^(src|test|bench|environments|scripts)\/|\.test\.js$|^dist\/(src|test|bench)\//.test(f)),
    [],
  );

  const dir = join(temp, "consumer");
  await mkdir(dir);
  consumerProject(dir, tarball);
  const installed = run(["npm", "ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], dir);
  assert.equal(installed.code, 0, `npm ci --offline (gen's dependencies must be in the npm cache: run npm ci in the checkout first)\n${installed.out}`);

  // The project belongs to the user; node_modules stays root's, as read-only as a global install.
  const user: Unprivileged = genTestUser(join(temp, "home"));
  chownSync(temp, user.uid, user.gid);
  chownSync(dir, user.uid, user.gid);
  const gen = [join(dir, "node_modules", ".bin", "gen")];
  const g = (...args: string[]) => runAs(user, [...gen, ...args], dir);

  const refused = g("apply", "prod", "--yes");
  assert.equal(refused.code, 1, refused.err);
  assert.match(refused.err, /environment "prod" not found: there is no folder \.\/environments\. Run `gen init`/);
  assert.doesNotMatch(refused.err + refused.out, /tsosi\.u-ga\.fr|node_modules/);

  const example = g("render");
  assert.equal(example.code, 0, example.err);
  assert.match(example.out, /rendered 10 files for example \(preset:example \(shipped with gen\)\)/);

  const init = g("init");
  assert.equal(init.code, 0, init.err);
  const tsc = run([process.execPath, join(packageRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "environments")], dir);
  assert.equal(tsc.code, 0, `tsc on the environments gen init wrote, importing "gen" from node_modules:\n${tsc.out}`);
  const sandbox = g("render", "sandbox", "--stdout", "--only", "**/sudoers.d/*");
  assert.equal(sandbox.code, 0, sandbox.err);
  assert.match(sandbox.out, /# Managed by gen from environments\/sandbox\.ts: /);

  sandboxLoop(user, gen, dir, join(dir, "node_modules", "gen", "sample-app"));
  // The README's loop as written, with this install (its sample app as npm ships it: without its .gitignore).
  readmeSandboxLoop(user, join(temp, "readme"), join(dir, "node_modules"));

  // The caches went to the user's cache folder, never into the installed package.
  const caches = join(user.home, ".cache", "gen");
  assert.ok(readdirSync(caches).some((f) => f.startsWith("env-")));
  // gen's own templates come compiled in the installed bundle: none compiled into the cache.
  assert.deepEqual(
    readdirSync(caches).filter((f) => f.startsWith("templates-")),
    [],
  );
  // The bin's V8 code cache too, private to the user.
  assert.equal(statSync(caches).mode & 0o777, 0o700);
  const codeCache = readdirSync(caches).find((f) => f.startsWith("v8-code-"));
  assert.ok(codeCache, `a code cache in ${caches}`);
  assert.equal(statSync(join(caches, codeCache)).mode & 0o777, 0o600);
  assert.equal(statSync(join(caches, codeCache)).uid, user.uid);
  assert.equal(existsSync(join(dir, "node_modules", ".cache")), false);
  assert.equal(existsSync(join(dir, "node_modules", "gen", "node_modules")), false);
});
