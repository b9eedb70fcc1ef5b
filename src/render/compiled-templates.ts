// gen's own templates, compiled by nunjucks: in the bundle, when it was built (builtin-templates.ts); else once, kept in
// gen's cache folder (cache-files.ts) under a hash of their text
// (compiling them is a tenth of a render's start-up). A changed template has a new hash, so the cache cannot be
// stale; an unwritable cache only costs the compile.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import nunjucks from "nunjucks";
import { cacheDir, readCacheFile, writeCacheFile } from "../cache/cache-files.js";
import { BUILTIN_TEMPLATES } from "./builtin-templates.js";

export const LEXER_OPTIONS = { autoescape: false, trimBlocks: true, lstripBlocks: true } as const;

type Compiled = Record<string, { root: unknown }>;

export function compiledTemplates(templatesDir: string): nunjucks.PrecompiledLoader {
  const sources = templateSources(templatesDir);
  // nunjucks' precompiled output registers each template on window.nunjucksPrecompiled.
  const window: { nunjucksPrecompiled?: Compiled } = {};
  // The bundle's own compiled templates, when the folder holds the templates they were compiled from (by the
  // nunjucks bundled with them: no version to look up).
  if (BUILTIN_TEMPLATES?.sources === sourcesHash(sources)) BUILTIN_TEMPLATES.register(window);
  else new Function("window", cachedCode(sources, templatesKey(sources)))(window);
  return new nunjucks.PrecompiledLoader(window.nunjucksPrecompiled as never);
}

/** The .njk templates of a folder, by name, in name order. */
export function templateSources(templatesDir: string): (readonly [name: string, source: string])[] {
  const names = readdirSync(templatesDir)
    .filter((n) => n.endsWith(".njk"))
    .sort();
  return names.map((name) => [name, readFileSync(join(templatesDir, name), "utf8")] as const);
}

/** What compiled templates depend on: nunjucks' version, and each template's name and text. */
function templatesKey(sources: (readonly [name: string, source: string])[]): string {
  return createHash("sha256")
    .update(`nunjucks ${nunjucksVersion()}\n${sourcesHash(sources)}`)
    .digest("hex")
    .slice(0, 32);
}

/** Each template's name and text, hashed. */
export function sourcesHash(sources: (readonly [name: string, source: string])[]): string {
  const hash = createHash("sha256");
  for (const [name, source] of sources) hash.update(`${name}\n${source}\n`);
  return hash.digest("hex");
}

/** The templates compiled by nunjucks, as the code of a function of `window`. */
export function precompiledCode(sources: (readonly [name: string, source: string])[]): string {
  const env = new nunjucks.Environment([], LEXER_OPTIONS);
  return sources.map(([name, source]) => nunjucks.precompileString(source, { name, env })).join("\n");
}

function cachedCode(sources: (readonly [name: string, source: string])[], key: string): string {
  const cacheFile = `templates-${key}.js`;
  let code = readCacheFile(cacheDir(), cacheFile)?.toString("utf8");
  if (code === undefined) {
    code = precompiledCode(sources);
    writeCacheFile(cacheDir(), cacheFile, code);
  }
  return code;
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
