// Reads one environment file as plain data: TypeScript (bundled with esbuild, then imported), YAML or JSON.
import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import type * as esbuild from "esbuild";
import { cachedBundle, storeBundle } from "./compile-cache.js";
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
  const code = (await cachedBundle(file)) ?? (await compileTypeScript(file));
  let module: { default?: unknown };
  try {
    module = (await importModule(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as { default?: unknown };
  } catch (error) {
    throw new GenError(`${display(file)}: failed while loading: ${(error as Error).message}`);
  }
  if (module.default === undefined) {
    throw new GenError(`${display(file)}: has no default export; end it with \`export default defineEnvironment({...})\``);
  }
  return module.default;
}

async function compileTypeScript(file: string): Promise<string> {
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent",
      metafile: true,
      plugins: [genImport],
    });
    const code = result.outputFiles[0]!.text;
    await storeBundle(
      file,
      Object.keys(result.metafile.inputs).map((input) => resolve(input)),
      code,
    );
    return code;
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
