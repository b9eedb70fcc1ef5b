// The code cache's file, in-process: what is read back, and which files are refused (test/project/code-cache.test.ts
// drives the bin).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type CodeCacheKey, openCodeCache } from "./code-cache.js";

const temp = mkdtempSync(join(tmpdir(), "gen-code-cache-unit-"));
after(() => rmSync(temp, { recursive: true, force: true }));

const KEY: CodeCacheKey = { genVersion: "1.2.3", bundleHash: "0123456789abcdef0123456789abcdef" };
const BUNDLE = "/opt/gen/dist/bundle";
const ENTRIES = new Map([
  ["start.js", Buffer.from("compiled start\n\nwith newlines\n")],
  ["chunk-ABC.js", Buffer.alloc(3000, 7)],
  ["empty.js", Buffer.alloc(0)],
]);

let homes = 0;
function home(): { env: NodeJS.ProcessEnv; dir: string } {
  const xdg = join(temp, `home-${homes++}`);
  mkdirSync(xdg);
  return { env: { XDG_CACHE_HOME: xdg }, dir: join(xdg, "gen") };
}

/** Writes ENTRIES through a first cache and returns the file. */
function written(env: NodeJS.ProcessEnv, dir: string): string {
  openCodeCache(BUNDLE, KEY, env)!.write(ENTRIES);
  // The folder also holds the mark of its last pruning (.pruned).
  const files = readdirSync(dir).filter((name) => !name.startsWith("."));
  assert.equal(files.length, 1, files.join(", "));
  return join(dir, files[0]!);
}

test("written entries are read back, by name, for the same key and bundle only", () => {
  const { env, dir } = home();
  const empty = openCodeCache(BUNDLE, KEY, env)!;
  assert.equal(empty.entries.size, 0);
  const file = written(env, dir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(new Map(openCodeCache(BUNDLE, KEY, env)!.entries), ENTRIES);
  assert.equal(openCodeCache(BUNDLE, { ...KEY, genVersion: "1.2.4" }, env)!.entries.size, 0);
  assert.equal(openCodeCache(BUNDLE, { ...KEY, bundleHash: "f".repeat(32) }, env)!.entries.size, 0);
  // Another install has its own file.
  assert.equal(openCodeCache("/elsewhere/dist/bundle", KEY, env)!.entries.size, 0);
});

test("a cache file that is a link, writable by others or owned by another user is not read", () => {
  const { env, dir } = home();
  const file = written(env, dir);
  const read = () => openCodeCache(BUNDLE, KEY, env)!.entries.size;
  assert.equal(read(), ENTRIES.size);

  chmodSync(file, 0o620);
  assert.equal(read(), 0, "group-writable");
  chmodSync(file, 0o600);
  chownSync(file, genTestUid(), -1);
  assert.equal(read(), 0, "owned by gen-test");
  chownSync(file, process.getuid!(), -1);
  assert.equal(read(), ENTRIES.size);

  const { env: linkedEnv, dir: linkedDir } = home();
  mkdirSync(linkedDir, { mode: 0o700 });
  symlinkSync(file, join(linkedDir, file.slice(dir.length + 1)));
  assert.equal(openCodeCache(BUNDLE, KEY, linkedEnv)!.entries.size, 0, "a link to a good file");
});

test("a cache folder writable by its group is refused as a whole", () => {
  const { env, dir } = home();
  written(env, dir);
  chmodSync(dir, 0o770);
  assert.equal(openCodeCache(BUNDLE, KEY, env), undefined);
});

function genTestUid(): number {
  const result = spawnSync("id", ["-u", "gen-test"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error("the gen-test user does not exist: scripts/test-full.sh creates it (useradd gen-test)");
  return Number(result.stdout.trim());
}
