// gen's cache folder as a user's gen runs use it (src/cache/cache-files.ts): every kind of entry, not only the code
// cache, is written only into a folder no one else can change, an entry is used only when it is this user's and
// writable by no one else (a validated environment decides what goes to a server as root), and entries unused for
// 30 days are removed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PRUNE_AFTER_DAYS } from "../../src/cache/cache-files.js";
import { type BinRun, runBin } from "../support/run-bin.js";

let temp = "";
let project = "";
/** The embedded example preset, rendered without any cache. */
let expected: BinRun;
const RENDER = ["render", "--stdout"];
const DOMAIN = "server_name tsosi.localhost;";

before(() => {
  temp = mkdtempSync(join(tmpdir(), "gen-cache-folder-"));
  project = join(temp, "project");
  mkdirSync(project);
  expected = runBin(RENDER, project, { XDG_CACHE_HOME: join(temp, "uncached"), GEN_NO_COMPILE_CACHE: "1" });
  assert.equal(expected.code, 0, expected.err);
  assert.ok(expected.out.includes(DOMAIN), "the example's nginx site names its domain");
});
after(() => rmSync(temp, { recursive: true, force: true }));

let homes = 0;
function cacheHome(): string {
  const home = join(temp, `home-${homes++}`);
  mkdirSync(home);
  return home;
}

function render(home: string): BinRun {
  return runBin(RENDER, project, { XDG_CACHE_HOME: home });
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => !name.startsWith(".")) : [];
}

test("a first render writes each kind of entry; none is written into a folder others can change, or through a link", () => {
  const fine = cacheHome();
  assert.equal(render(fine).code, 0);
  const kinds = new Set(entries(join(fine, "gen")).map((name) => name.replace(/-[0-9a-f]+\.\w+$/, "")));
  // gen's own templates come compiled in the bundle (builtin-templates.ts): no templates-* entry.
  assert.deepEqual([...kinds].sort(), ["bundle", "env", "v8-code"]);

  const groupWritable = cacheHome();
  mkdirSync(join(groupWritable, "gen"), { mode: 0o700 });
  chmodSync(join(groupWritable, "gen"), 0o770);
  const otherOwner = cacheHome();
  mkdirSync(join(otherOwner, "gen"), { mode: 0o700 });
  chownSync(join(otherOwner, "gen"), genTestUid(), -1);
  const linked = cacheHome();
  const target = join(temp, "link-target");
  mkdirSync(target, { mode: 0o700 });
  symlinkSync(target, join(linked, "gen"));
  for (const [home, dir] of [
    [groupWritable, join(groupWritable, "gen")],
    [otherOwner, join(otherOwner, "gen")],
    [linked, target],
  ] as const) {
    for (const run of [1, 2]) {
      const rendered = render(home);
      assert.equal(rendered.code, 0, rendered.err);
      assert.equal(rendered.out, expected.out, `${dir}, run ${run}`);
    }
    assert.deepEqual(entries(dir), [], `nothing written into ${dir}`);
  }
});

test("no cache folder is made under a folder another user owns or anyone may write to (without the sticky bit)", () => {
  const otherUsers = cacheHome();
  chownSync(otherUsers, genTestUid(), -1);
  const anyone = cacheHome();
  chmodSync(anyone, 0o777);
  for (const home of [otherUsers, anyone, join(anyone, "below")]) {
    for (const run of [1, 2]) {
      const rendered = render(home);
      assert.equal(rendered.code, 0, rendered.err);
      assert.equal(rendered.out, expected.out, `${home}, run ${run}`);
    }
    assert.equal(existsSync(join(home, "gen")), false, `no ${home}/gen`);
  }
});

test("a validated environment in the cache is used only when it is this user's and no one else can write it", () => {
  const home = cacheHome();
  assert.equal(render(home).code, 0);
  const dir = join(home, "gen");
  const [name] = entries(dir).filter((entry) => entry.startsWith("env-"));
  assert.ok(name !== undefined, "the render kept the validated environment");
  const file = join(dir, name);
  writeFileSync(file, readFileSync(file, "utf8").replaceAll("tsosi.localhost", "planted.example"));

  // The user's own entry is trusted (it is keyed by the definition): this is what a planted one would do.
  assert.ok(render(home).out.includes("server_name planted.example;"), "the user's own entry is used");
  for (const [what, spoil, mend] of [
    ["owned by gen-test", () => chownSync(file, genTestUid(), -1), () => chownSync(file, process.getuid!(), -1)],
    ["writable by its group", () => chmodSync(file, 0o660), () => chmodSync(file, 0o600)],
  ] as const) {
    spoil();
    const rendered = render(home);
    assert.equal(rendered.code, 0, rendered.err);
    assert.equal(rendered.out, expected.out, `an entry ${what} is not used`);
    mend();
  }
});

test("a write prunes entries unused for 30 days, and leaves recent ones and files that are not gen's", () => {
  const home = cacheHome();
  const dir = join(home, "gen");
  mkdirSync(dir, { mode: 0o700 });
  const long = (Date.now() - (PRUNE_AFTER_DAYS + 1) * 24 * 60 * 60 * 1000) / 1000;
  const lately = (Date.now() - (PRUNE_AFTER_DAYS - 1) * 24 * 60 * 60 * 1000) / 1000;
  for (const [entry, at] of [
    ["env-0ld.json", long],
    ["own-template-0ld.js", long],
    ["v8-code-0ld.bin", long],
    ["env-recent.json", lately],
    ["mine.txt", long],
  ] as const) {
    writeFileSync(join(dir, entry), "{}", { mode: 0o600 });
    utimesSync(join(dir, entry), at, at);
  }
  const rendered = render(home);
  assert.equal(rendered.code, 0, rendered.err);
  assert.equal(rendered.out, expected.out);
  const left = entries(dir);
  for (const gone of ["env-0ld.json", "own-template-0ld.js", "v8-code-0ld.bin"]) assert.ok(!left.includes(gone), `${gone} was pruned`);
  for (const kept of ["env-recent.json", "mine.txt"]) assert.ok(left.includes(kept), `${kept} was kept`);
});

function genTestUid(): number {
  const result = spawnSync("id", ["-u", "gen-test"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error("the gen-test user does not exist: scripts/test-full.sh creates it (useradd gen-test)");
  return Number(result.stdout.trim());
}
