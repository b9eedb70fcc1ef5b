// A validated environment depends only on its merged definition and on the schema, so the result is kept in
// gen's cache folder (cache-files.ts) keyed by both: a render of an unchanged environment needs neither zod nor esbuild.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Environment } from "../../schema/index.js";
import { cacheDir, readCacheFile, writeCacheFile } from "../cache/cache-files.js";
import { packageRoot } from "../paths.js";

const SCHEMA_FILES = ["primitives.js", "environment.js", "resolve.js"].map((f) => join(packageRoot, "dist", "schema", f));

function cacheKey(definition: unknown): string | undefined {
  try {
    const hash = createHash("sha256");
    for (const file of SCHEMA_FILES) hash.update(readFileSync(file));
    return hash.update(JSON.stringify(definition)).digest("hex").slice(0, 40);
  } catch {
    return undefined;
  }
}

export async function cachedEnvironment(definition: unknown): Promise<Environment | undefined> {
  const key = cacheKey(definition);
  if (!key) return undefined;
  try {
    const content = readCacheFile(cacheDir(), `env-${key}.json`);
    return content ? (JSON.parse(content.toString("utf8")) as Environment) : undefined;
  } catch {
    return undefined;
  }
}

export async function storeEnvironment(definition: unknown, environment: Environment): Promise<void> {
  const key = cacheKey(definition);
  if (!key) return;
  writeCacheFile(cacheDir(), `env-${key}.json`, JSON.stringify(environment));
}
