// Reads one environment file as plain data: TypeScript (bundled with esbuild, then run), YAML or JSON.
import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { Script } from "node:vm";
import type * as esbuild from "esbuild";
import { cachedBundle, type CompiledDefinition, storeBundle } from "./compile-cache.js";
import { GenError } from "../errors.js";
import { defineModule } from "../paths.js";
import { importModule } from "./import-module.js";

/** `import { defineEnvironment } from "gen"` means this gen, installed locally, globally or run from a clone. */
const genImport: esbuild.Plugin = {
  name: "gen-import",
  setup(build) {
    build.onResolve({ filter: /^gen$/ }, () => ({ path: defineModule }));
  },
};
import { loadYaml } from "./yaml.js";

export async function readDefinition(file: string): Promise<unknown> {
  if (file.endsWith(".ts")) return readTypeScript(file);
  const text = await readFile(file, "utf8");
  try {
    if (file.endsWith(".json")) return JSON.parse(text);
    const { parse } = await loadYaml();
    return parse(text, { prettyErrors: true });
  } catch (error) {
    throw new GenError(`${display(file)}: cannot parse: ${(error as Error).message}`);
  }
}

async function readTypeScript(file: string): Promise<unknown> {
  const compiled = (await cachedBundle(file)) ?? (await compileTypeScript(file));
  let module: { default?: unknown };
  try {
    module = compiled.format === "cjs" ? runCommonJs(compiled.code, file) : await importEsm(compiled.code);
  } catch (error) {
    throw new GenError(`${display(file)}: failed while loading: ${(error as Error).message}`);
  }
  if (module.default === undefined) {
    throw new GenError(`${display(file)}: has no default export; end it with \`export default defineEnvironment({...})\``);
  }
  return module.default;
}

/**
 * The bundle as a CommonJS function, in strict mode as an ES module runs: no ES module loader is started for it (a
 * render took 3.5 ms less). It requires nothing but Node's built-ins, as esbuild bundled the rest.
 */
function runCommonJs(code: string, file: string): { default?: unknown } {
  const module = { exports: {} as { default?: unknown } };
  const run = new Script(`(function (exports, require, module) {"use strict";${code}\n})`, { filename: file }).runInThisContext();
  run(module.exports, requireBuiltin, module);
  return module.exports;
}

function requireBuiltin(id: string): unknown {
  const builtin = process.getBuiltinModule(id);
  if (builtin === undefined) throw new Error(`cannot require ${id}: only Node's built-in modules are left out of the bundle`);
  return builtin;
}

async function importEsm(code: string): Promise<{ default?: unknown }> {
  return (await importModule(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as { default?: unknown };
}

/**
 * CommonJS where the file's code allows it; an ES module where it needs one: top-level await, which CommonJS cannot
 * hold, or import.meta, which it would leave empty. A file that does not compile is reported with the ES module
 * build's errors, as before.
 */
async function compileTypeScript(file: string): Promise<CompiledDefinition> {
  const esbuild = await import("esbuild");
  const build = (format: "cjs" | "esm") =>
    esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format,
      platform: "node",
      target: "node20",
      logLevel: "silent",
      metafile: true,
      plugins: [genImport],
      // A script run by node:vm has no import() of its own: a dynamic import of a built-in becomes a require.
      ...(format === "cjs" ? { supported: { "dynamic-import": false } } : {}),
    });
  try {
    const cjs = await build("cjs").catch(() => undefined);
    const usable = cjs?.warnings.some((w) => w.id === "empty-import-meta") ? undefined : cjs;
    const [format, result] = usable ? (["cjs", usable] as const) : (["esm", await build("esm")] as const);
    const compiled = { format, code: result.outputFiles[0]!.text };
    await storeBundle(
      file,
      Object.keys(result.metafile.inputs).map((input) => resolve(input)),
      compiled,
    );
    return compiled;
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    const lines = (failure.errors ?? []).map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ""}${m.text}`);
    throw new GenError(`${display(file)}: cannot compile`, { details: lines.length ? lines : [String(error)] });
  }
}

export function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}
