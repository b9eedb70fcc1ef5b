#!/usr/bin/env node
// The gen binary as bundled (dist/bundle/main.js, built by scripts/bundle.mjs as CommonJS: no ES module loader is
// started for it). The CLI's bundle is a set of scripts (esbuild's chunks, each a CommonJS function: an ES module
// cannot be given a code cache on Node 20); this file compiles each one the first time it is required, with V8's code
// cache (code-cache.ts), and after a successful command stores the code compiled meanwhile when a script's cache was
// missing or refused, so later runs skip parsing and compiling it. GEN_NO_COMPILE_CACHE=1 runs without the cache.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";
import { openCodeCache } from "./code-cache.js";
import { v8FlagsChanged } from "./young-generation.js";

/** Set by scripts/bundle.mjs when it writes this file next to the scripts. */
declare const GEN_BUNDLE: { entry: string; hash: string; version: string };

interface ScriptModule {
  exports: Record<string, unknown>;
}
type Wrapped = (
  exports: object,
  require: (id: string) => unknown,
  module: ScriptModule,
  filename: string,
  dirname: string,
  meta: ImportMeta,
  importModule: (specifier: string) => Promise<unknown>,
) => void;

const dir = import.meta.dirname;
/** The scripts' import.meta: this file's, as they sit beside it (the build defines each field for CommonJS). */
const meta = { url: import.meta.url, dirname: import.meta.dirname, filename: import.meta.filename, resolve: import.meta.resolve } as ImportMeta;
const cache =
  process.env.GEN_NO_COMPILE_CACHE === "1" ? undefined : openCodeCache(dir, { genVersion: GEN_BUNDLE.version, bundleHash: GEN_BUNDLE.hash }, process.env);
const loaded = new Map<string, { module: ScriptModule; script: Script; cached: boolean }>();
let nodeRequire: NodeJS.Require | undefined;

/** The bundle's scripts by their relative name; built-ins directly; anything else (ssh2's native parts, esbuild) from here. */
function require(id: string): unknown {
  if (id.startsWith("./")) return load(id.slice(2));
  return process.getBuiltinModule(id) ?? (nodeRequire ??= process.getBuiltinModule("node:module").createRequire(join(dir, "main.js")))(id);
}

function load(name: string): unknown {
  const found = loaded.get(name);
  if (found) return found.module.exports;
  const filename = join(dir, name);
  const cachedData = cache?.entries.get(name);
  const { script, cached } = compile(readFileSync(filename, "utf8"), filename, cachedData);
  const module: ScriptModule = { exports: {} };
  loaded.set(name, { module, script, cached });
  // import.meta and import() are this module's: the scripts sit beside it, where the ES module bundle used to be.
  (script.runInThisContext() as Wrapped)(module.exports, require, module, filename, dir, meta, (specifier) => import(specifier));
  return module.exports;
}

/** The script, and whether V8 took its cached code. */
function compile(source: string, filename: string, cachedData: Buffer | undefined): { script: Script; cached: boolean } {
  try {
    const script = new Script(source, { filename, cachedData });
    return { script, cached: cachedData !== undefined && script.cachedDataRejected === false };
  } catch (error) {
    if (cachedData === undefined) throw error;
    return { script: new Script(source, { filename }), cached: false };
  }
}

const { main } = load(GEN_BUNDLE.entry) as { main: () => Promise<number> };
void main().then((status) => {
  process.exitCode = status;
  // V8 refuses a code cache made under other flags than the ones it is read with: a run that changed one (a large
  // environment, young-generation.ts) leaves the cache as it was.
  if (cache && status === 0 && !v8FlagsChanged() && [...loaded.values()].some((script) => !script.cached)) {
    try {
      const entries = new Map(cache.entries);
      for (const [name, { script }] of loaded) entries.set(name, script.createCachedData());
      cache.write(entries);
    } catch {
      // no cache: gen's output and exit status stay as they are
    }
  }
});
