// gen's cache folder ($XDG_CACHE_HOME/gen, else ~/.cache/gen) and every file in it: compiled environment files,
// validated environments, compiled templates, V8's code for the bundle. Several of them are code gen runs and the
// others decide what it sends to a server as root, so a file is read only from a folder that only this user can
// change, only when it is this user's, not a link and writable by no one else; anything else means working without
// it, silently. Entries unused for PRUNE_AFTER_DAYS are removed when an entry is written.
// Node's built-ins only: the launcher (code-cache.ts) uses it before the CLI's modules are loaded.
import {
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import type { Stats } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Entries neither written nor read for this long are removed. */
export const PRUNE_AFTER_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
/** The kinds of entries gen writes, by file-name prefix; nothing else in the folder is ever removed. */
const ENTRY_PREFIXES = ["v8-code-", "bundle-", "env-", "templates-", "own-template-"];
/** Its modification time is when the folder was last pruned. */
const PRUNED_MARKER = ".pruned";

/** Read at each call, so that tests can point it elsewhere. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return xdg?.startsWith("/") ? join(xdg, "gen") : join(homedir(), ".cache", "gen");
}

/**
 * True when the folder is a real folder (not a link) owned by this user and writable by no one else, and no folder
 * above it lets another user replace it; undefined when it does not exist.
 */
export function safeCacheFolder(dir: string): boolean | undefined {
  return lstatOrUndefined(dir) === undefined ? undefined : folderIsSafe(dir);
}

/** The entry's bytes, or undefined when it is missing or not safe to use. An entry in use is kept from pruning. */
export function readCacheFile(dir: string, name: string, now = Date.now()): Buffer | undefined {
  try {
    if (!folderIsSafe(dir)) return undefined;
    const fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile() || !ownedAndPrivate(stats)) return undefined;
      const content = readFileSync(fd);
      // Marked as used at most once a day: a cache hit costs no write.
      if (now - stats.mtimeMs > DAY_MS) markUsed(fd, now);
      return content;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * Writes the entry whole or not at all (0600, then a rename), creating the folder (0700) when it is missing and
 * nothing above it is another user's; then prunes the folder if it was not pruned for a day. Errors are ignored.
 */
export function writeCacheFile(dir: string, name: string, content: string | Buffer, now = Date.now()): void {
  try {
    // Checked before creating anything: root running gen with another user's HOME leaves nothing there.
    if (lstatOrUndefined(dir) === undefined && safeParents(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!folderIsSafe(dir)) return;
    writeWhole(join(dir, name), content);
    pruneIfDue(dir, now);
  } catch {
    // no cache
  }
}

/** Removes entries unused for PRUNE_AFTER_DAYS, and temporary files a killed gen left a day ago or more. */
export function pruneCacheFolder(dir: string, now = Date.now()): void {
  for (const name of readdirSync(dir)) {
    const isEntry = ENTRY_PREFIXES.some((prefix) => name.startsWith(prefix));
    if (!isEntry) continue;
    const stats = lstatOrUndefined(join(dir, name));
    if (!stats) continue;
    const age = now - stats.mtimeMs;
    if (name.endsWith(".tmp") ? age > DAY_MS : age > PRUNE_AFTER_DAYS * DAY_MS) unlinkQuietly(join(dir, name));
  }
}

/** A folder gen cannot write to (a read-only file system) still serves its entries. */
function markUsed(fd: number, now: number): void {
  try {
    futimesSync(fd, now / 1000, now / 1000);
  } catch {
    // read-only: the entry may be pruned while in use, and is then written again
  }
}

function pruneIfDue(dir: string, now: number): void {
  const marker = join(dir, PRUNED_MARKER);
  const last = lstatOrUndefined(marker);
  if (last && (!last.isFile() || now - last.mtimeMs < DAY_MS)) return;
  if (last) utimesSync(marker, now / 1000, now / 1000);
  else closeSync(openSync(marker, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
  pruneCacheFolder(dir, now);
}

const parentsChecked = new Map<string, boolean>();

/** Whether the folder exists and is safe, the folders above it checked once per process (a read costs one lstat more). */
function folderIsSafe(dir: string): boolean {
  const stats = lstatOrUndefined(dir);
  if (stats === undefined || !stats.isDirectory() || !ownedAndPrivate(stats)) return false;
  let parents = parentsChecked.get(dir);
  if (parents === undefined) parentsChecked.set(dir, (parents = safeParents(dir)));
  return parents;
}

function writeWhole(file: string, content: string | Buffer): void {
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch {
    unlinkQuietly(temp);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

/** The folders above `dir` that exist, as named and as the links among them lead (~/.cache may be a link). */
function safeParents(dir: string): boolean {
  let existing = dirname(dir);
  while (lstatOrUndefined(existing) === undefined && existing !== dirname(existing)) existing = dirname(existing);
  return [existing, realpathSync(existing)].every((start) => {
    for (let parent = start; ; parent = dirname(parent)) {
      if (!holdsSafely(statSync(parent))) return false;
      if (parent === dirname(parent)) return true;
    }
  });
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function ownedAndPrivate(stats: Stats): boolean {
  return stats.uid === process.getuid?.() && (stats.mode & 0o022) === 0;
}

/** A folder above the cache: owned by this user or root, and others may not rename what is in it (or it is sticky, as /tmp). */
function holdsSafely(stats: Stats): boolean {
  const owner = stats.uid === 0 || stats.uid === process.getuid?.();
  return owner && ((stats.mode & 0o022) === 0 || (stats.mode & 0o1000) !== 0);
}
