// V8's compiled code for the bundled CLI's scripts, kept between runs so that gen's start-up neither parses them
// nor compiles the functions a command runs again. A code cache is code gen will run: it is read only from a folder
// that only this user can change, and any problem (missing, unsafe, unreadable, rejected, unwritable) means
// running without it, silently. Used by the launcher only, so it imports nothing but Node's built-ins.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import type { Stats } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { crc32 } from "node:zlib";

/** What the compiled code depends on: a file written for another gen, bundle or Node is never read. */
export interface CodeCacheKey {
  genVersion: string;
  /** A hash of the bundle's scripts, computed when they were built. */
  bundleHash: string;
}

export interface CodeCache {
  /** Compiled code by script name, as found (empty when the file is missing or was written for another key). */
  entries: ReadonlyMap<string, Buffer>;
  /** Replaces the file with these entries, atomically; errors are ignored. */
  write(entries: ReadonlyMap<string, Buffer>): void;
}

/** gen's cache folder, as paths.ts's cacheDir (repeated here: the launcher must not load the CLI's modules). */
export function codeCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  return xdg?.startsWith("/") ? join(xdg, "gen") : join(homedir(), ".cache", "gen");
}

/**
 * The cache for the bundle in `bundleDir`, or undefined when its folder is not safe. A missing folder is created
 * (0700) only when the cache is written, after a successful command.
 */
export function openCodeCache(bundleDir: string, key: CodeCacheKey, env: NodeJS.ProcessEnv): CodeCache | undefined {
  try {
    const dir = codeCacheDir(env);
    const found = safeFolder(dir);
    if (found === false) return undefined;
    // One file per installed bundle, so that rebuilding or upgrading replaces the file instead of adding one.
    const file = join(dir, `v8-code-${pathHash(bundleDir)}.bin`);
    const header = `gen-v8-code-cache\n${keyText(key)}\n`;
    return {
      entries: (found && readCache(file, header)) || new Map(),
      write(entries) {
        try {
          // Checked before creating anything: root running gen with another user's HOME leaves nothing there.
          if (!found && safeParents(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
          if (found || safeFolder(dir)) writeCache(file, encode(header, entries));
        } catch {
          // no cache
        }
      },
    };
  } catch {
    return undefined;
  }
}

function keyText(key: CodeCacheKey): string {
  return [key.genVersion, key.bundleHash, process.version, process.arch].join(" ");
}

/** FNV-1a of the bundle's path: only a file name (the header holds the key), so no hash module is loaded for it. */
function pathHash(path: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/**
 * True when the folder is a real folder (not a link) owned by this user and writable by no one else, and no folder
 * above it lets another user replace it; undefined when it does not exist.
 */
function safeFolder(dir: string): boolean | undefined {
  const stats = lstatOrUndefined(dir);
  if (stats === undefined) return undefined;
  return stats.isDirectory() && ownedAndPrivate(stats) && safeParents(dir);
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

/**
 * The file: the header (the key), a CRC-32 of the rest, then for each script its name and byte length on a line
 * each, then its code. V8 checks a code cache's version, flags and source length but not its bytes (a release build
 * verifies no checksum): a damaged file would crash it, so gen checks them (against accidents: no other user can
 * write there, and this user could change gen itself).
 */
function encode(header: string, entries: ReadonlyMap<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of entries) parts.push(Buffer.from(`${name}\n${data.length}\n`), data);
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(`${header}${checksum(body)}\n`), body]);
}

function decode(content: Buffer, header: string): Map<string, Buffer> | undefined {
  const bodyStart = header.length + 9;
  if (!content.subarray(0, header.length).equals(Buffer.from(header)) || content[bodyStart - 1] !== 10) return undefined;
  const body = content.subarray(bodyStart);
  if (content.toString("latin1", header.length, bodyStart - 1) !== checksum(body)) return undefined;
  const entries = new Map<string, Buffer>();
  for (let at = 0; at < body.length; ) {
    const nameEnd = body.indexOf(10, at);
    const lengthEnd = body.indexOf(10, nameEnd + 1);
    const length = Number(body.toString("latin1", nameEnd + 1, lengthEnd));
    if (nameEnd < 0 || lengthEnd < 0 || !Number.isSafeInteger(length) || lengthEnd + 1 + length > body.length) return undefined;
    entries.set(body.toString("latin1", at, nameEnd), body.subarray(lengthEnd + 1, lengthEnd + 1 + length));
    at = lengthEnd + 1 + length;
  }
  return entries;
}

function checksum(body: Buffer): string {
  return crc32(body).toString(16).padStart(8, "0");
}

function readCache(file: string, header: string): Map<string, Buffer> | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    return stats.isFile() && ownedAndPrivate(stats) ? decode(readFileSync(fd), header) : undefined;
  } finally {
    closeSync(fd);
  }
}

function writeCache(file: string, content: Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for (let at = 0; at < content.length; ) at += writeSync(fd, content, at, content.length - at);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch {
    try {
      unlinkSync(temp);
    } catch {
      // not created
    }
  }
}
