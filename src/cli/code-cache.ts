// V8's compiled code for the bundled CLI's scripts, kept between runs so that gen's start-up neither parses them
// nor compiles the functions a command runs again. A code cache is code gen will run: it is read only from a folder
// that only this user can change (cache-files.ts), and any problem (missing, unsafe, unreadable, rejected,
// unwritable) means running without it, silently. Used by the launcher only, so it imports nothing but Node's
// built-ins and cache-files.ts, which imports nothing else either.
import { crc32 } from "node:zlib";
import { cacheDir, readCacheFile, safeCacheFolder, writeCacheFile } from "../cache/cache-files.js";

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

/**
 * The cache for the bundle in `bundleDir`, or undefined when its folder is not safe. A missing folder is created
 * (0700) only when the cache is written, after a successful command.
 */
export function openCodeCache(bundleDir: string, key: CodeCacheKey, env: NodeJS.ProcessEnv): CodeCache | undefined {
  try {
    const dir = cacheDir(env);
    if (safeCacheFolder(dir) === false) return undefined;
    // One file per installed bundle, so that rebuilding or upgrading replaces the file instead of adding one.
    const name = `v8-code-${pathHash(bundleDir)}.bin`;
    const header = `gen-v8-code-cache\n${keyText(key)}\n`;
    const content = readCacheFile(dir, name);
    return {
      entries: (content && decode(content, header)) || new Map(),
      write(entries) {
        writeCacheFile(dir, name, encode(header, entries));
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
