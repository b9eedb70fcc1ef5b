// Bundles the compiled CLI (dist/src) into dist/bundle/ with esbuild: one file to parse instead of hundreds
// of modules to resolve roughly halves start-up. Commands stay lazily loaded (code splitting). ssh2 is bundled
// too (resolving its ~60 files cost more than running them); its optional native parts stay where npm put them
// and are required from node_modules at run time, as ssh2 itself would.
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import * as esbuild from "esbuild";

/** ssh2's `require('./crypto/build/Release/sshcrypto.node')` becomes a require of that file inside node_modules/ssh2. */
const nativeAddonsFromNodeModules = {
  name: "native-addons-from-node-modules",
  setup(build) {
    build.onResolve({ filter: /\.node$/ }, (args) => {
      const at = args.resolveDir.lastIndexOf("/node_modules/");
      if (at < 0) return undefined;
      const packagePath = `${args.resolveDir.slice(at + "/node_modules/".length)}/${args.path}`.replace(/\/\.\//g, "/");
      return { path: packagePath, external: true };
    });
  },
};

/** CommonJS globals in ssh2's files, which an ES module lacks, point at the bundle (another bundled module declares its own). */
const ssh2Globals = {
  name: "ssh2-globals",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]ssh2[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      return { contents: source.replace(/\b__dirname\b/g, "__genSsh2Dir").replace(/\b__filename\b/g, "__genSsh2File"), loader: "js" };
    });
  },
};

await rm("dist/bundle", { recursive: true, force: true });
await esbuild.build({
  entryPoints: ["dist/src/cli/main.js"],
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["cpu-features", "esbuild"],
  plugins: [nativeAddonsFromNodeModules, ssh2Globals],
  // ssh2 reads __dirname and __filename (a Windows-only helper path, emscripten's loader): see ssh2Globals.
  banner: {
    js: "import { createRequire as __genCreateRequire } from 'node:module'; import { dirname as __genDirname } from 'node:path'; import { fileURLToPath as __genFileURLToPath } from 'node:url'; const require = __genCreateRequire(import.meta.url); const __genSsh2File = __genFileURLToPath(import.meta.url); const __genSsh2Dir = __genDirname(__genSsh2File);",
  },
  logLevel: "warning",
});
await chmod("dist/bundle/main.js", 0o755);

// The JSON Schema at a stable path in the package (exported as gen/environment.schema.json) for editors.
const { environmentJsonSchema } = await import("../dist/schema/json-schema.js");
await writeFile("dist/environment.schema.json", `${JSON.stringify(environmentJsonSchema(), null, 2)}\n`);
