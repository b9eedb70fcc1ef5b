// Bundles the compiled CLI (dist/src) into dist/bundle/ with esbuild: one file to parse instead of hundreds
// of modules to resolve roughly halves start-up. Commands stay lazily loaded (code splitting). ssh2 stays
// external: it loads an optional native addon.
import { chmod, rm, writeFile } from "node:fs/promises";
import * as esbuild from "esbuild";

await rm("dist/bundle", { recursive: true, force: true });
await esbuild.build({
  entryPoints: ["dist/src/cli/main.js"],
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["ssh2", "cpu-features", "esbuild"],
  banner: { js: "import { createRequire as __genCreateRequire } from 'node:module'; const require = __genCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
await chmod("dist/bundle/main.js", 0o755);

// The JSON Schema at a stable path in the package (exported as gen/environment.schema.json) for editors.
const { environmentJsonSchema } = await import("../dist/schema/json-schema.js");
await writeFile("dist/environment.schema.json", `${JSON.stringify(environmentJsonSchema(), null, 2)}\n`);
