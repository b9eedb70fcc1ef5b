// Where gen's own folders are, whether run from dist/ or installed as a package, and where it may write.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: this file is compiled to dist/src/paths.js and bundled into dist/bundle/. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const templatesDir = resolve(packageRoot, "templates");
/** Environments shipped with gen, extended by name as `preset:<name>`. */
export const presetsDir = resolve(packageRoot, "presets");
/** What `import ... from "gen"` in an environment file means when the file is compiled. */
export const defineModule = resolve(packageRoot, "dist", "schema", "define.js");

/** gen's version, from its package.json (read only when asked: --version and the JSON outputs). */
export function genVersion(): string {
  return (JSON.parse(readFileSync(resolve(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}
