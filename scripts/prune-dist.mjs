// Removes compiled files whose TypeScript source is gone (a module moved or deleted): tsc never deletes, and a
// stale module in dist/ would still be loaded by the test runner and read by the import-graph test.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

for (const folder of ["src", "test", "schema", "bench", "environments", "presets"]) {
  const compiled = join("dist", folder);
  if (!existsSync(compiled)) continue;
  for (const file of readdirSync(compiled, { recursive: true, encoding: "utf8" })) {
    if (file.endsWith(".js") && !existsSync(join(folder, file.replace(/\.js$/, ".ts")))) rmSync(join(compiled, file));
  }
}
