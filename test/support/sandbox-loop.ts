// The sandbox loop of the embedded example as a user runs it, as the unprivileged gen-test user (no root, no
// server): diff, apply --yes, diff again, deploy of gen's sample app twice, releases, rollback. Used on the
// checkout's build and on the installed package.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, cpSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";

export interface Unprivileged {
  uid: number;
  gid: number;
  home: string;
}

/** The gen-test user the suite logs in as over SSH (scripts/test-full.sh creates it). */
export function genTestUser(home: string): Unprivileged {
  const id = (flag: string) => {
    const result = spawnSync("id", [flag, "gen-test"], { encoding: "utf8" });
    if (result.status !== 0) throw new Error("the gen-test user does not exist: scripts/test-full.sh creates it (useradd gen-test)");
    return Number(result.stdout.trim());
  };
  mkdirSync(home, { recursive: true });
  const user = { uid: id("-u"), gid: id("-g"), home };
  chownSync(home, user.uid, user.gid);
  return user;
}

/** Hands a folder tree to the user (the test creates it as root). */
export function giveTo(user: Unprivileged, dir: string): void {
  spawnSync("chown", ["-R", `${user.uid}:${user.gid}`, dir]);
}

export interface Run {
  code: number;
  out: string;
  err: string;
}

/**
 * The variables of a mutation run (scripts/mutate.mjs, Stryker): the mutant under test, and in the first run the hook
 * that reports what a child reached. gen run as the user then runs the mutant too; outside a mutation run, none.
 */
function mutationRun(): Record<string, string> {
  const names = Object.keys(process.env).filter((name) => /^(__STRYKER_|STRYKER_|GEN_MUTATE_)/.test(name));
  if (process.env.GEN_MUTATE_CHILD_COVERAGE !== undefined) names.push("NODE_OPTIONS");
  return Object.fromEntries(names.map((name) => [name, process.env[name]!]));
}

export function runAs(user: Unprivileged, argv: string[], cwd: string): Run {
  const [file, ...args] = argv;
  const result = spawnSync(file!, args, {
    cwd,
    encoding: "utf8",
    uid: user.uid,
    gid: user.gid,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: user.home,
      NO_COLOR: "1",
      GIT_AUTHOR_NAME: "Ada Tester",
      GIT_AUTHOR_EMAIL: "ada@example.org",
      GIT_COMMITTER_NAME: "Ada Tester",
      GIT_COMMITTER_EMAIL: "ada@example.org",
      ...mutationRun(),
    },
  });
  if (result.error) throw result.error;
  return { code: result.status ?? 1, out: result.stdout, err: result.stderr };
}

/**
 * `gen` is the argv that runs gen (node + bin); `sampleApp` the shipped sample-app folder. The project folder
 * `dir` must belong to the user already.
 */
export function sandboxLoop(user: Unprivileged, gen: string[], dir: string, sampleApp: string): void {
  const g = (...args: string[]) => runAs(user, [...gen, ...args], dir);
  const ok = (run: Run, what: string) => assert.equal(run.code, 0, `${what}: exit ${run.code}\n${run.out}\n${run.err}`);
  const root = join(dir, ".gen-local", "example");

  const first = g("diff", "--stat");
  assert.equal(first.code, 2, `first diff: ${first.err}`);
  assert.match(
    first.err,
    /^sandbox: the folder \.gen-local\/example stands in for the server \(no SSH, no root\); owners are recorded, not set; service commands are recorded, not run/m,
  );
  assert.match(first.out, /10 to create/);

  const apply = g("apply", "--yes");
  ok(apply, "apply --yes");
  assert.match(apply.out, /applied 10 files; recorded \(sandbox, not run\) \/usr\/bin\/systemctl daemon-reload/);
  const commands = () => readFileSync(join(root, ".gen-sandbox", "commands.log"), "utf8");
  assert.match(commands(), /apply: \/usr\/bin\/systemctl daemon-reload\n/);
  assert.match(commands(), /apply: \/usr\/sbin\/nginx -t -q\n/);
  const owners = JSON.parse(readFileSync(join(root, ".gen-sandbox", "owners.json"), "utf8")) as Record<string, string>;
  assert.equal(owners["/etc/sudoers.d/tsosi"], "root:root");
  assert.equal(owners["/home/deployer/config/settings_local.py"], "deployer:deployer");
  assert.equal(owners["/var/www"], "deployer:www-data");
  // Recorded, not enforced: the file belongs to the user who ran gen, with the mode gen wanted.
  const sudoers = lstatSync(join(root, "etc/sudoers.d/tsosi"));
  assert.equal(sudoers.uid, user.uid);
  assert.equal(sudoers.mode & 0o777, 0o440);

  const again = g("diff");
  ok(again, "diff after apply");
  assert.match(again.out, /0 to change, 0 to create, 10 unchanged/);

  const app = join(dir, "app");
  cpSync(sampleApp, app, { recursive: true });
  giveTo(user, app);
  for (const args of [
    ["init", "-q", "-b", "main"],
    ["add", "-A"],
    ["commit", "-q", "-m", "sample app"],
  ])
    ok(runAs(user, ["git", "-C", app, ...args], dir), `git ${args[0]}`);

  const deploy = () => {
    // Release folders are named by the UTC second: let the second of the previous release pass.
    const before = new Date().toISOString().slice(0, 19);
    while (new Date().toISOString().slice(0, 19) === before) spawnSync("sleep", ["0.2"]);
    const run = g("deploy", "--repo", "app", "--yes");
    ok(run, "deploy");
    return /release (\d{8}T\d{6}Z) is live/.exec(run.out)![1]!;
  };
  const firstRelease = deploy();
  const secondRelease = deploy();
  assert.equal(readlinkSync(join(root, "var/www/current")), `releases/${secondRelease}`);
  assert.match(readFileSync(join(root, "var/www/current/public/index.html"), "utf8"), /Deployed by gen into its sandbox/);
  assert.match(commands(), /release: sudo \/usr\/bin\/systemctl restart tsosi_gunicorn\n/);

  const releases = g("releases");
  ok(releases, "releases");
  assert.match(releases.out, new RegExp(`^  ${firstRelease}  main [0-9a-f]{12} sample app`, "m"));
  assert.match(releases.out, new RegExp(`^\\* ${secondRelease}  main`, "m"));

  const rollback = g("rollback");
  ok(rollback, "rollback");
  assert.match(rollback.out, new RegExp(`${secondRelease} -> ${firstRelease} is live; recorded \\(sandbox, not run\\)`));
  assert.equal(readlinkSync(join(root, "var/www/current")), `releases/${firstRelease}`);
  // Beside the release folders, the log of deploys and rollbacks.
  assert.deepEqual(readdirSync(join(root, "var/www/releases")).sort(), [firstRelease, secondRelease, "releases.log"].sort());
  const logged = readFileSync(join(root, "var/www/releases/releases.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { command: string; result: string });
  assert.deepEqual(
    logged.map((e) => `${e.command} ${e.result}`),
    ["deploy deployed", "deploy deployed", "rollback switched"],
  );
}

/** The indented lines between `<!-- name: begin -->` and `<!-- name: end -->` in the README, unindented. */
export function readmeBlock(name: string): string {
  const readme = readFileSync(join(packageRoot, "README.md"), "utf8");
  const block = new RegExp(`<!-- ${name}: begin -->\\n([\\s\\S]*?)<!-- ${name}: end -->`).exec(readme);
  assert.ok(block, `README.md has the markers of ${name}`);
  return block[1]!.replace(/^ {4}/gm, "");
}

/**
 * The README's sandbox loop, run as it is written there (its lines, by bash, stopping at the first that fails) in a
 * new project folder `dir` whose node_modules is `nodeModules` (gen installed there), by `user`: npx gen finds the
 * package's bin, as in a user's project. Two releases, the status, then a rollback to the first.
 */
export function readmeSandboxLoop(user: Unprivileged, dir: string, nodeModules: string): void {
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "my-app", private: true, devDependencies: { gen: "*" } }, null, 2)}\n`);
  symlinkSync(nodeModules, join(dir, "node_modules"));
  giveTo(user, dir);
  const loop = readmeBlock("sandbox loop");
  const run = runAs(user, ["bash", "-e", "-o", "pipefail", "-c", loop], dir);
  assert.equal(run.code, 0, `the README's loop:\n${loop}\nexit ${run.code}\n${run.out}\n${run.err}`);
  const [first, second] = [...run.out.matchAll(/^local: release (\d{8}T\d{6}Z) is live/gm)].map((m) => m[1]!);
  assert.ok(first && second && first !== second, run.out);
  assert.match(run.out, new RegExp(`^local: release ${second} is live: main [0-9a-f]{12} "a second release"`, "m"));
  assert.match(run.out, new RegExp(`^local: ${second} -> ${first} is live; recorded \\(sandbox, not run\\)`, "m"));
  assert.equal(readlinkSync(join(dir, ".gen-local", "example", "var", "www", "current")), `releases/${first}`);
}
