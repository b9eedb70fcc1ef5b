// Bundles the compiled CLI (dist/src) into dist/bundle/ with esbuild: a few chunks to read instead of hundreds of
// modules to resolve roughly halves start-up, and V8's code cache of the chunks (src/cli/launcher.ts) saves most of
// their parsing and compiling. ssh2 is bundled too (resolving its ~60 files cost more than running them); its
// optional native parts stay where npm put them and are required from node_modules at run time, as ssh2 itself would.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
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

/** The CLI's import() of modules outside the bundle (src/load/import-module.ts) is the launcher's, passed in. */
const importFromLauncher = {
  name: "import-from-launcher",
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/]src[\\/]load[\\/]import-module\.js$/ }, () => ({
      contents: "export const importModule = __genImport;",
      loader: "js",
    }));
  },
};

/**
 * Each `programText(import.meta.url, "./x.py")` of the compiled modules (src/program-text.ts) becomes the text of that
 * program, read from its copy beside the module (scripts/copy-programs.mjs): the installed gen reads no program file,
 * and a program sits in the chunk of the module that runs it. A call written any other way fails the build, since the
 * bundle would look for the file beside itself.
 */
const inlinePrograms = {
  name: "inline-programs",
  setup(build) {
    const call = /\bprogramText\(\s*import\.meta\.url,\s*"(\.\/[\w.-]+\.(?:py|sh))"\s*,?\s*\)/g;
    build.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
      if (/[\\/]program-text\.js$/.test(args.path)) return undefined;
      const source = await readFile(args.path, "utf8");
      if (!source.includes("programText(")) return undefined;
      const contents = source.replace(call, (_, name) => JSON.stringify(readFileSync(join(dirname(args.path), name), "utf8")));
      if (contents.includes("programText(")) {
        return { errors: [{ text: `${args.path}: programText must be called as programText(import.meta.url, "./name.py") to be inlined` }] };
      }
      return { contents, loader: "js" };
    });
  },
};

/**
 * string-width (under yargs' help layout) compiles Unicode-property RegExps (\p{RGI_Emoji}) and an Intl.Segmenter
 * when its module is evaluated: two fifths of a render's instructions, for text only --help lays out. Each import
 * of it gets a stand-in that evaluates the real module on the first call.
 */
const lazyStringWidth = {
  name: "lazy-string-width",
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: { real: true } });
      if (real.errors.length > 0) return undefined;
      // A CommonJS copy would be evaluated on its first require already: only ES module copies get the stand-in.
      const isModule = JSON.parse(await readFile(join(dirname(real.path), "package.json"), "utf8")).type === "module";
      return isModule ? { path: real.path, namespace: "lazy-string-width" } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: "lazy-string-width" }, (args) => ({
      contents: `export default function stringWidth(text, options) { return require(${JSON.stringify(args.path)}).default(text, options); }`,
      loader: "js",
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * yargs imports node:assert for two checks it makes on every parse; loading assert costs a render ~12M instructions.
 * The stand-in makes the same checks (Object.is, as assert does) and loads assert only to throw its error.
 */
const lazyAssertForYargs = {
  name: "lazy-assert-for-yargs",
  setup(build) {
    build.onResolve({ filter: /^assert$/ }, (args) =>
      /[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer) ? { path: "assert", namespace: "lazy-assert" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "lazy-assert" }, () => ({
      contents: [
        'export function strictEqual(actual, expected, message) { if (!Object.is(actual, expected)) require("assert").strictEqual(actual, expected, message); }',
        'export function notStrictEqual(actual, expected, message) { if (Object.is(actual, expected)) require("assert").notStrictEqual(actual, expected, message); }',
      ].join("\n"),
      loader: "js",
    }));
  },
};

/**
 * gen's own templates, compiled by nunjucks now (src/render/builtin-templates.ts): the bundle's copy of that module
 * holds a hash of their text and their code as a function, which V8's code cache then covers like the rest of the
 * bundle.
 */
const builtinTemplates = {
  name: "builtin-templates",
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/]src[\\/]render[\\/]builtin-templates\.js$/ }, async () => {
      const { precompiledCode, sourcesHash, templateSources } = await import("../dist/src/render/compiled-templates.js");
      const { templatesDir } = await import("../dist/src/paths.js");
      const sources = templateSources(templatesDir);
      return {
        contents: `export const BUILTIN_TEMPLATES = { sources: ${JSON.stringify(sourcesHash(sources))}, register(window) {\n${precompiledCode(sources)}\n} };`,
        loader: "js",
      };
    });
  },
};

/**
 * ssh2 compiles and instantiates a WebAssembly Poly1305 (16 MB of memory reserved) when its crypto module is loaded,
 * for the chacha20-poly1305 cipher of a machine where its native addon was not built. With the addon loaded that
 * module is never called (the addon's own Poly1305 is), yet it cost every command that connects about 7 MB of
 * resident memory and its compile time. It is loaded only without the addon, as before, and the build fails if
 * ssh2's code no longer reads as expected.
 */
const ssh2PolyOnlyWithoutAddon = {
  name: "ssh2-poly1305-only-without-addon",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]protocol[\\/]crypto\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const eager = "  init: (() => {\n";
      if (source.split(eager).length !== 2 || !source.includes("binding = require('./crypto/build/Release/sshcrypto.node');")) {
        return { errors: [{ text: `${args.path}: ssh2's crypto module changed; scripts/bundle.mjs cannot make its Poly1305 lazy` }] };
      }
      return { contents: source.replace(eager, "  init: binding ? Promise.resolve() : (() => {\n"), loader: "js" };
    });
  },
};

/** The zod/mini functions gen's step records use (src/server, src/apply, src/release, src/transport). */
const ZOD_MINI_USED = [
  "array",
  "boolean",
  "discriminatedUnion",
  "literal",
  "nullable",
  "number",
  "object",
  "optional",
  "safeParse",
  "string",
  "union",
  "unknown",
];

/**
 * zod/mini (the step records every server command reads) as its own tree-shaken copy, about 25 KB: imported as
 * it is, it shares zod's core with the environment schema (full zod), and code splitting then puts that whole
 * 500 KB chunk on the path of every command, where only `render` with a warm cache escaped it.
 */
const zodMiniCopy = {
  name: "zod-mini-copy",
  setup(build) {
    build.onResolve({ filter: /^zod\/mini$/ }, () => ({ path: "zod-mini", namespace: "zod-mini-copy" }));
    build.onLoad({ filter: /.*/, namespace: "zod-mini-copy" }, async () => {
      const copy = await esbuild.build({
        stdin: { contents: `export { ${ZOD_MINI_USED.join(", ")} } from "zod/mini";`, resolveDir: process.cwd() },
        bundle: true,
        write: false,
        format: "esm",
        platform: "node",
        target: "node20",
        logLevel: "warning",
      });
      return { contents: copy.outputFiles[0].text, loader: "js" };
    });
  },
};

await rm("dist/bundle", { recursive: true, force: true });
// Commands stay lazily loaded (code splitting): a command reads and compiles only the chunks it needs.
const chunks = await esbuild.build({
  entryPoints: ["dist/src/cli/start.js"],
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["cpu-features", "esbuild"],
  plugins: [
    importFromLauncher,
    builtinTemplates,
    inlinePrograms,
    lazyStringWidth,
    lazyAssertForYargs,
    zodMiniCopy,
    ssh2PolyOnlyWithoutAddon,
    nativeAddonsFromNodeModules,
  ],
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  write: false,
});
// Each chunk becomes a script: CommonJS inside a function, which the launcher (src/cli/launcher.ts) compiles with
// node:vm and V8's code cache (an ES module cannot be given one on Node 20). Imports of other chunks, built-ins and
// packages (import() too) become calls of the launcher's require; import.meta is the launcher's, in the same folder.
// ssh2's __dirname and __filename are parameters (another bundled module's own __dirname is renamed by esbuild).
await mkdir("dist/bundle", { recursive: true });
const hash = createHash("sha256");
for (const chunk of chunks.outputFiles.sort((a, b) => a.path.localeCompare(b.path))) {
  const script = await esbuild.transform(chunk.text, {
    format: "cjs",
    loader: "js",
    platform: "node",
    target: "node20",
    supported: { "dynamic-import": false },
    define: { "import.meta": "__genImportMeta" },
    banner: '(function (exports, require, module, __filename, __dirname, __genImportMeta, __genImport) {"use strict";',
    footer: "})",
    // Less text to read and parse at every start; names are kept, so stack traces and error names stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    // The chunks were checked above (nunjucks' `!x instanceof y` is warned about a second time otherwise).
    logLevel: "error",
  });
  hash.update(`${basename(chunk.path)}\n${script.code}\n`);
  await writeFile(join("dist/bundle", basename(chunk.path)), script.code);
}

// The bin: a small CommonJS script that loads the scripts; their code cache is keyed by gen's version and the scripts'
// hash. CommonJS, so that Node starts no ES module loader for it: with a TypeScript environment run as a CommonJS
// function too (src/load/read-definition.ts), a render took 16M fewer instructions (6%). Its import.meta is defined
// from its own file (scripts/cjs-import-meta.js), and the folder's package.json says CommonJS, since gen's own says
// module.
const { version } = JSON.parse(await readFile("package.json", "utf8"));
await esbuild.build({
  entryPoints: ["dist/src/cli/launcher.js"],
  outfile: "dist/bundle/main.js",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  inject: ["scripts/cjs-import-meta.js"],
  define: {
    GEN_BUNDLE: JSON.stringify({ entry: "start.js", hash: hash.digest("hex").slice(0, 32), version }),
    "import.meta.dirname": "__dirname",
    "import.meta.filename": "__filename",
    "import.meta.url": "importMetaUrl",
    "import.meta.resolve": "importMetaResolve",
  },
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
await writeFile("dist/bundle/package.json", `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);
await chmod("dist/bundle/main.js", 0o755);

// The JSON Schema at a stable path in the package (exported as gen/environment.schema.json) for editors.
const { environmentJsonSchema } = await import("../dist/schema/json-schema.js");
await writeFile("dist/environment.schema.json", `${JSON.stringify(environmentJsonSchema(), null, 2)}\n`);
