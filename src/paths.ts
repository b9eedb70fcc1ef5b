// Where the project's own folders are, whether run from dist/ or installed as a package.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: this file is compiled to dist/src/paths.js. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const templatesDir = resolve(packageRoot, "templates");

/** gen's version, from its package.json (read only when asked: --version and the JSON outputs). */
export function genVersion(): string {
  return (JSON.parse(readFileSync(resolve(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}
