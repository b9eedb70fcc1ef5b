// Reads one environment file as plain data: TypeScript (bundled with esbuild, then imported), YAML or JSON.
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import * as esbuild from "esbuild";
import { parse as parseYaml } from "yaml";
import { GenError } from "../errors.js";

export async function readDefinition(file: string): Promise<unknown> {
  if (file.endsWith(".ts")) return readTypeScript(file);
  const text = await readFile(file, "utf8");
  try {
    return file.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new GenError(`${display(file)}: cannot parse: ${(error as Error).message}`);
  }
}

async function readTypeScript(file: string): Promise<unknown> {
  let code: string;
  try {
    const result = await esbuild.build({
      entryPoints: [file], bundle: true, write: false, format: "esm", platform: "node", target: "node20", logLevel: "silent",
    });
    code = result.outputFiles[0]!.text;
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    const lines = (failure.errors ?? []).map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ""}${m.text}`);
    throw new GenError(`${display(file)}: cannot compile`, { details: lines.length ? lines : [String(error)] });
  }
  let module: { default?: unknown };
  try {
    module = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
  } catch (error) {
    throw new GenError(`${display(file)}: failed while loading: ${(error as Error).message}`);
  }
  if (module.default === undefined) {
    throw new GenError(`${display(file)}: has no default export; end it with \`export default defineEnvironment({...})\``);
  }
  return module.default;
}

export function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}
