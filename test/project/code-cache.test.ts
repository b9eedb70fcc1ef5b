// The bin's V8 code cache (src/cli/launcher.ts, src/cli/code-cache.ts), driven as a user runs gen: written 0600
// into a 0700 folder after the first successful run and reused as is; a corrupted file or a folder that cannot be
// written never changes gen's output or exit status. The folder's own rules (no other user's, no link) are every
// cache entry's: test/project/cache-folder.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LARGE_ENVIRONMENT_FILES } from "../../src/cli/young-generation.js";
import { type BinRun, runBin } from "../support/run-bin.js";

let temp = "";
let project = "";
/** What gen prints for this project, rendered without the cache. */
let expected: BinRun;

// The embedded example preset, a TypeScript environment: the run loads several chunks and import()s the compiled environment.
const RENDER = ["render", "--stdout"];

before(() => {
  temp = mkdtempSync(join(tmpdir(), "gen-code-cache-"));
  project = join(temp, "project");
  mkdirSync(project);
  expected = runBin(RENDER, project, { XDG_CACHE_HOME: join(temp, "uncached"), GEN_NO_COMPILE_CACHE: "1" });
  assert.equal(expected.code, 0, expected.err);
  assert.match(expected.out, /==> \/etc\/sudoers\.d\/tsosi /);
});
after(() => {
  rmSync(temp, { recursive: true, force: true });
});

/** A fresh XDG_CACHE_HOME. */
function cacheHome(name: string): string {
  const home = join(temp, name);
  mkdirSync(home);
  return home;
}

function render(home: string): BinRun {
  return runBin(RENDER, project, { XDG_CACHE_HOME: home });
}

function assertRenderedAsWithoutCache(run: BinRun, label: string): void {
  assert.equal(run.code, 0, `${label}: ${run.err}`);
  assert.equal(run.out, expected.out, label);
  assert.equal(run.err, expected.err, label);
}

function codeCacheFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.startsWith("v8-code-")) : [];
}

test("a command whose code is loaded after start-up (validate) is cached too: its second run does not write the cache again", () => {
  const home = cacheHome("lazy-command");
  const validate = () => runBin(["validate", "--no-tools"], project, { XDG_CACHE_HOME: home });
  assert.equal(validate().code, 0);
  const [file] = codeCacheFiles(join(home, "gen"));
  assert.ok(file !== undefined, "the first run wrote the cache");
  const first = statSync(join(home, "gen", file));
  assert.equal(validate().code, 0);
  const second = statSync(join(home, "gen", file));
  assert.deepEqual([second.ino, second.mtimeMs], [first.ino, first.mtimeMs], "the second run wrote the cache again: V8 refused what the first stored");
});

test("a large environment's run (its heap held back: V8 flags) leaves the code cache as it was", () => {
  const home = cacheHome("large-environment");
  const big = join(temp, "big-project");
  mkdirSync(join(big, "environments"), { recursive: true });
  writeFileSync(join(big, "environments", "one.njk"), "# {{ i }}\n");
  const files = Array.from({ length: LARGE_ENVIRONMENT_FILES }, (_, i) => ({ path: `/etc/big/f${i}.conf`, template: "one.njk", vars: { i } }));
  writeFileSync(join(big, "environments", "big.json"), JSON.stringify({ extends: "preset:example", files }));
  assertRenderedAsWithoutCache(render(home), "first run, writes the cache");
  const [file] = codeCacheFiles(join(home, "gen"));
  assert.ok(file !== undefined, "the first run wrote the cache");
  const written = statSync(join(home, "gen", file));
  // validate's code is not in the cache yet (only render ran): a run that could write the cache does, unless its
  // flag changed (without that guard, this run and the next both rewrote it).
  const large = runBin(["validate", "big", "--no-tools"], big, { XDG_CACHE_HOME: home });
  assert.equal(large.code, 0, large.err);
  const after = statSync(join(home, "gen", file));
  assert.deepEqual([after.ino, after.mtimeMs], [written.ino, written.mtimeMs], "the large run rewrote the cache under its changed flag");
  assertRenderedAsWithoutCache(render(home), "an ordinary run after it");
  const again = statSync(join(home, "gen", file));
  assert.deepEqual([again.ino, again.mtimeMs], [written.ino, written.mtimeMs], "the ordinary run after it found the cache refused");
});

test("the first run writes the code cache 0600 in a 0700 folder; the next run uses it as is, with the same output", () => {
  const home = cacheHome("fresh");
  assertRenderedAsWithoutCache(render(home), "first run");
  const dir = join(home, "gen");
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const [file, ...others] = codeCacheFiles(dir);
  assert.ok(file !== undefined && others.length === 0, `one code cache file in ${readdirSync(dir).join(", ")}`);
  const written = statSync(join(dir, file));
  assert.equal(written.mode & 0o777, 0o600);
  assert.equal(written.uid, process.getuid!());
  const content = readFileSync(join(dir, file));

  assertRenderedAsWithoutCache(render(home), "second run");
  const again = statSync(join(dir, file));
  assert.equal(again.ino, written.ino, "the cache file was not replaced");
  assert.equal(again.mtimeMs, written.mtimeMs, "the cache file was not rewritten");
  assert.deepEqual(readFileSync(join(dir, file)), content);
  assert.deepEqual(
    readdirSync(dir).filter((name) => name.endsWith(".tmp")),
    [],
  );
});

test("GEN_NO_COMPILE_CACHE=1 neither reads nor writes a code cache", () => {
  const home = cacheHome("off");
  const run = runBin(RENDER, project, { XDG_CACHE_HOME: home, GEN_NO_COMPILE_CACHE: "1" });
  assertRenderedAsWithoutCache(run, "GEN_NO_COMPILE_CACHE=1");
  assert.deepEqual(codeCacheFiles(join(home, "gen")), []);
});

test("a corrupted cache file, or one of another gen, still gives the right output, and is replaced by a good one", () => {
  const home = cacheHome("corrupted");
  assertRenderedAsWithoutCache(render(home), "writing the cache");
  const dir = join(home, "gen");
  const [file] = codeCacheFiles(dir);
  assert.ok(file !== undefined);
  const path = join(dir, file);
  const good = readFileSync(path);
  const headerEnd = good.indexOf("\n", good.indexOf("\n") + 1) + 1;
  const firstEntry = good.indexOf("\n", good.indexOf("\n", headerEnd) + 1) + 1;

  const flipped = Buffer.from(good);
  // The compiled code of the first script, past V8's own header: V8 refuses it (checksum) or the script runs as compiled.
  for (let i = firstEntry + 64; i < flipped.length; i += 97) flipped[i] = flipped[i]! ^ 0xff;
  const truncated = good.subarray(0, firstEntry + 100);
  const otherKey = Buffer.concat([
    Buffer.from(good.toString("latin1", 0, headerEnd).replace(/ [0-9a-f]{32} /, ` ${"0".repeat(32)} `)),
    good.subarray(headerEnd),
  ]);
  const garbage = Buffer.from("not a code cache at all\n".repeat(100));

  for (const [label, content] of [
    ["flipped bytes", flipped],
    ["truncated", truncated],
    ["another key", otherKey],
    ["garbage", garbage],
  ] as const) {
    writeFileSync(path, content, { mode: 0o600 });
    assertRenderedAsWithoutCache(render(home), label);
    assert.notDeepEqual(readFileSync(path), content, `${label}: the file was replaced`);
    assertRenderedAsWithoutCache(render(home), `${label}, then with the replaced file`);
  }
});

test("a cache V8 refuses (written under other V8 flags) gives the right output and is replaced", () => {
  const home = cacheHome("other-flags");
  const other = runBin(RENDER, project, { XDG_CACHE_HOME: home, NODE_OPTIONS: "--stack-trace-limit=23" });
  assertRenderedAsWithoutCache(other, "under other flags");
  const [file] = codeCacheFiles(join(home, "gen"));
  assert.ok(file !== undefined);
  const path = join(home, "gen", file);
  const before = readFileSync(path);
  assertRenderedAsWithoutCache(render(home), "refused");
  assert.notDeepEqual(readFileSync(path), before, "the refused cache was replaced");
  const replaced = statSync(path);
  assertRenderedAsWithoutCache(render(home), "with the replacement");
  assert.equal(statSync(path).mtimeMs, replaced.mtimeMs, "the replacement is used as is");
});

test("a cache folder that cannot be created changes nothing", () => {
  const home = join(temp, "not-a-folder");
  writeFileSync(home, "a file where the cache folder's parent should be\n");
  for (const run of [1, 2]) assertRenderedAsWithoutCache(render(home), `run ${run}`);
});

function _genTestUid(): number {
  const result = spawnSync("id", ["-u", "gen-test"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error("the gen-test user does not exist: scripts/test-full.sh creates it (useradd gen-test)");
  return Number(result.stdout.trim());
}
