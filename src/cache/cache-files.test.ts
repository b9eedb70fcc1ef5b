// gen's cache folder, in-process: which entries are read, how they are written, and what pruning removes.
// (test/project/cache-folder.test.ts drives the bin; code-cache.test.ts covers the launcher's file on top of this.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { cacheDir, PRUNE_AFTER_DAYS, pruneCacheFolder, readCacheFile, writeCacheFile } from "./cache-files.js";

const temp = mkdtempSync(join(tmpdir(), "gen-cache-files-"));
after(() => rmSync(temp, { recursive: true, force: true }));
const DAY_MS = 24 * 60 * 60 * 1000;

let homes = 0;
/** A fresh XDG_CACHE_HOME; its gen folder does not exist yet. */
function home(): string {
  const xdg = join(temp, `home-${homes++}`);
  mkdirSync(xdg);
  return cacheDir({ XDG_CACHE_HOME: xdg });
}

function age(path: string, days: number, now = Date.now()): void {
  const at = (now - days * DAY_MS) / 1000;
  utimesSync(path, at, at);
}

test("the folder is $XDG_CACHE_HOME/gen when that is absolute, else ~/.cache/gen", () => {
  assert.equal(cacheDir({ XDG_CACHE_HOME: "/x/cache" }), "/x/cache/gen");
  assert.match(cacheDir({ XDG_CACHE_HOME: "relative" }), /\/\.cache\/gen$/);
  assert.match(cacheDir({}), /\/\.cache\/gen$/);
});

test("an entry is written 0600 in a folder made 0700, whole, and read back", () => {
  const dir = home();
  assert.equal(readCacheFile(dir, "env-a.json"), undefined);
  writeCacheFile(dir, "env-a.json", "{}");
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, "env-a.json")).mode & 0o777, 0o600);
  assert.equal(readCacheFile(dir, "env-a.json")?.toString(), "{}");
  writeCacheFile(dir, "env-a.json", Buffer.from("[1]"));
  assert.equal(readCacheFile(dir, "env-a.json")?.toString(), "[1]");
  assert.deepEqual(readdirSync(dir).sort(), [".pruned", "env-a.json"], "no temporary file is left");
});

test("an entry that is a link, writable by others or another user's is not read", () => {
  const dir = home();
  writeCacheFile(dir, "own-template-a.js", "return 1");
  const file = join(dir, "own-template-a.js");
  chmodSync(file, 0o620);
  assert.equal(readCacheFile(dir, "own-template-a.js"), undefined, "group-writable");
  chmodSync(file, 0o602);
  assert.equal(readCacheFile(dir, "own-template-a.js"), undefined, "writable by others");
  chmodSync(file, 0o600);
  chownSync(file, genTestUid(), -1);
  assert.equal(readCacheFile(dir, "own-template-a.js"), undefined, "owned by gen-test");
  chownSync(file, process.getuid!(), -1);
  assert.equal(readCacheFile(dir, "own-template-a.js")?.toString(), "return 1", "the same file, made right again, is read");
  symlinkSync(file, join(dir, "own-template-b.js"));
  assert.equal(readCacheFile(dir, "own-template-b.js"), undefined, "a link to a good entry");
});

test("nothing is read from, or written into, a folder others can change", () => {
  for (const [what, spoil] of [
    ["group-writable", (dir: string) => chmodSync(dir, 0o770)],
    ["another user's", (dir: string) => chownSync(dir, genTestUid(), -1)],
  ] as const) {
    const dir = home();
    writeCacheFile(dir, "env-a.json", "{}");
    spoil(dir);
    assert.equal(readCacheFile(dir, "env-a.json"), undefined, what);
    writeCacheFile(dir, "env-b.json", "{}");
    assert.equal(existsSync(join(dir, "env-b.json")), false, `${what}: nothing written`);
  }
  const target = home();
  writeCacheFile(target, "env-a.json", "{}");
  const linked = join(temp, `home-${homes++}`);
  mkdirSync(linked);
  symlinkSync(target, join(linked, "gen"));
  assert.equal(readCacheFile(join(linked, "gen"), "env-a.json"), undefined, "the folder is a link");
});

test("no folder is made under one another user could rename it in", () => {
  const open = join(temp, `open-${homes++}`);
  mkdirSync(open);
  chmodSync(open, 0o777);
  writeCacheFile(join(open, "gen"), "env-a.json", "{}");
  assert.equal(existsSync(join(open, "gen")), false);
});

test("an entry whose use cannot be marked (an immutable file, as on a read-only file system) is still read", () => {
  const dir = home();
  writeCacheFile(dir, "env-a.json", "{}");
  const file = join(dir, "env-a.json");
  age(file, 2);
  const before = statSync(file).mtimeMs;
  const immutable = spawnSync("chattr", ["+i", file], { encoding: "utf8" });
  assert.equal(immutable.status, 0, `chattr +i (e2fsprogs, as root) failed: ${immutable.stderr}`);
  try {
    assert.equal(readCacheFile(dir, "env-a.json")?.toString(), "{}");
    assert.equal(statSync(file).mtimeMs, before, "the mark failed, as on a read-only file system");
  } finally {
    spawnSync("chattr", ["-i", file]);
  }
  readCacheFile(dir, "env-a.json");
  assert.ok(statSync(file).mtimeMs > before, "once writable, a read marks it used");
});

test("a write prunes entries unused for 30 days and old temporary files, once a day, and nothing that is not gen's", () => {
  const dir = home();
  const now = Date.now();
  writeCacheFile(dir, "env-new.json", "{}", now);
  const old = ["env-old.json", "bundle-old.json", "own-template-old.js", "templates-old.js", "v8-code-old.bin"];
  for (const name of [...old, "env-recent.json", "env-used.json", "notes.txt", "env-x.json.123.tmp", "env-y.json.456.tmp"]) {
    writeFileSync(join(dir, name), "x", { mode: 0o600 });
  }
  for (const name of [...old, "env-used.json", "notes.txt"]) age(join(dir, name), PRUNE_AFTER_DAYS + 1, now);
  age(join(dir, "env-recent.json"), PRUNE_AFTER_DAYS - 1, now);
  age(join(dir, "env-x.json.123.tmp"), 2, now);
  // Read today: marked as used, so it is kept.
  assert.equal(readCacheFile(dir, "env-used.json", now)?.toString(), "x");

  // The folder was pruned by the first write, less than a day ago: this write leaves it.
  writeCacheFile(dir, "env-2.json", "{}", now);
  assert.ok(existsSync(join(dir, "env-old.json")));

  // A day later, the next write prunes.
  age(join(dir, ".pruned"), 1.5, now);
  writeCacheFile(dir, "env-3.json", "{}", now);
  assert.deepEqual(readdirSync(dir).sort(), [
    ".pruned",
    "env-2.json",
    "env-3.json",
    "env-new.json",
    "env-recent.json",
    "env-used.json",
    "env-y.json.456.tmp",
    "notes.txt",
  ]);
  assert.ok(Date.now() - statSync(join(dir, ".pruned")).mtimeMs < DAY_MS);
});

test("pruning removes an old link named as an entry without following it", () => {
  const dir = home();
  writeCacheFile(dir, "env-a.json", "{}");
  const outside = join(temp, "outside.json");
  writeFileSync(outside, "keep");
  symlinkSync(outside, join(dir, "env-link.json"));
  const at = (Date.now() - (PRUNE_AFTER_DAYS + 1) * DAY_MS) / 1000;
  spawnSync("touch", ["-h", "-d", `@${at}`, join(dir, "env-link.json")]);
  pruneCacheFolder(dir);
  assert.equal(existsSync(join(dir, "env-link.json")), false);
  assert.equal(existsSync(outside), true);
});

function genTestUid(): number {
  const result = spawnSync("id", ["-u", "gen-test"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error("the gen-test user does not exist: scripts/test-full.sh creates it (useradd gen-test)");
  return Number(result.stdout.trim());
}
