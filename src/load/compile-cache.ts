// Compiled environment files are kept in gen's cache folder (cache-files.ts), keyed by the file and checked against the
// size and mtime of every file the bundle was built from, so esbuild runs only when an environment changed.
// The check is synchronous: a few stats, each cheaper than a round trip through the thread pool (which waits for a
// core on a busy machine).
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { cacheDir, readCacheFile, writeCacheFile } from "../cache/cache-files.js";
import { packageRoot } from "../paths.js";

/** An environment file compiled: run as a CommonJS function, or imported as an ES module (read-definition.ts). */
export interface CompiledDefinition {
  format: "cjs" | "esm";
  code: string;
}

interface CacheEntry {
  inputs: [path: string, mtimeMs: number, size: number][];
  code: string;
  /** Missing in the entries of gens before CommonJS: those were ES modules. */
  format?: "cjs" | "esm";
}

function entryName(file: string): string {
  return `bundle-${createHash("sha256").update(`${packageRoot}\n${file}`).digest("hex").slice(0, 32)}.json`;
}

export async function cachedBundle(file: string): Promise<CompiledDefinition | undefined> {
  let entry: CacheEntry;
  try {
    const content = readCacheFile(cacheDir(), entryName(file));
    if (!content) return undefined;
    entry = JSON.parse(content.toString("utf8")) as CacheEntry;
  } catch {
    return undefined;
  }
  const fresh = entry.inputs.every(([path, mtimeMs, size]) => {
    const s = statSync(path, { throwIfNoEntry: false });
    return s !== undefined && s.mtimeMs === mtimeMs && s.size === size;
  });
  return fresh && typeof entry.code === "string" ? { format: entry.format === "cjs" ? "cjs" : "esm", code: entry.code } : undefined;
}

/** Best effort: a read-only install simply compiles every time. */
export async function storeBundle(file: string, inputs: string[], compiled: CompiledDefinition): Promise<void> {
  try {
    const stats = await Promise.all(inputs.map(async (path) => [path, await stat(path)] as const));
    const entry: CacheEntry = { inputs: stats.map(([path, s]) => [path, s.mtimeMs, s.size]), code: compiled.code, format: compiled.format };
    writeCacheFile(cacheDir(), entryName(file), JSON.stringify(entry));
  } catch {
    // no cache
  }
}
