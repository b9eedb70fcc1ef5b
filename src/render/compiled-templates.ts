// gen's own templates, compiled by nunjucks once and kept in gen's cache folder (cache-files.ts) under a hash of their text
// (compiling them is a tenth of a render's start-up). A changed template has a new hash, so the cache cannot be
// stale; an unwritable cache only costs the compile.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import nunjucks from "nunjucks";
import { cacheDir, readCacheFile, writeCacheFile } from "../cache/cache-files.js";

export const LEXER_OPTIONS = { autoescape: false, trimBlocks: true, lstripBlocks: true } as const;

type Compiled = Record<string, { root: unknown }>;

export function compiledTemplates(templatesDir: string): nunjucks.PrecompiledLoader {
  const names = readdirSync(templatesDir)
    .filter((n) => n.endsWith(".njk"))
    .sort();
  const sources = names.map((name) => [name, readFileSync(join(templatesDir, name), "utf8")] as const);
  const hash = createHash("sha256").update(`nunjucks ${nunjucksVersion()}\n`);
  for (const [name, source] of sources) hash.update(`${name}\n${source}\n`);
  const cacheFile = `templates-${hash.digest("hex").slice(0, 32)}.js`;
  let code = readCacheFile(cacheDir(), cacheFile)?.toString("utf8");
  if (code === undefined) {
    const env = new nunjucks.Environment([], LEXER_OPTIONS);
    code = sources.map(([name, source]) => nunjucks.precompileString(source, { name, env })).join("\n");
    writeCacheFile(cacheDir(), cacheFile, code);
  }
  // nunjucks' precompiled output registers each template on window.nunjucksPrecompiled.
  const window: { nunjucksPrecompiled?: Compiled } = {};
  new Function("window", code)(window);
  return new nunjucks.PrecompiledLoader(window.nunjucksPrecompiled as never);
}

let version: string | undefined;

export function nunjucksVersion(): string {
  return (version ??= readNunjucksVersion());
}

function readNunjucksVersion(): string {
  try {
    const file = fileURLToPath(import.meta.resolve("nunjucks/package.json"));
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
