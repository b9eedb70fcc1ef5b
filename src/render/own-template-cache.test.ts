// An environment's own templates are compiled once and then read compiled from gen's cache folder, also by a new
// engine (as in the next run of gen); a changed template is compiled again, and renders its new text.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import nunjucks from "nunjucks";
import { LEXER_OPTIONS } from "./compiled-templates.js";
import { setTemplateCompiler } from "./own-template-cache.js";
import { ContainedLoader } from "./template-loader.js";

const dir = mkdtempSync(join(tmpdir(), "gen-own-templates-"));
const savedCache = process.env.XDG_CACHE_HOME;
process.env.XDG_CACHE_HOME = join(dir, "cache");
const compiled: string[] = [];
const restoreCompiler = setTemplateCompiler((compile) => (source, path, options) => {
  compiled.push(path);
  return compile(source, path, options);
});
after(() => {
  restoreCompiler();
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

/** A new engine each time, as a new run of gen has: nothing is kept in memory between two renders. */
function render(name: string, vars: Record<string, unknown>): string {
  const options = { ...LEXER_OPTIONS, throwOnUndefined: true };
  return new nunjucks.Environment([new ContainedLoader(join(dir, "env"), options)], options).render(name, vars);
}

test("an own template is compiled on the first render only, and again when its text changes", () => {
  const envDir = join(dir, "env");
  mkdirSync(envDir);
  writeFileSync(join(envDir, "extra.njk"), "{% include 'part.njk' %} file {{ i }}\n");
  writeFileSync(join(envDir, "part.njk"), "part of {{ i }}");

  assert.equal(render("extra.njk", { i: 1 }), "part of 1 file 1\n");
  assert.deepEqual(compiled.map((p) => p.slice(envDir.length + 1)).sort(), ["extra.njk", "part.njk"]);
  assert.equal(readdirSync(join(dir, "cache", "gen")).filter((f) => f.startsWith("own-template-")).length, 2);

  assert.equal(render("extra.njk", { i: 2 }), "part of 2 file 2\n");
  assert.equal(compiled.length, 2, "the second render reads both templates compiled from the cache");

  writeFileSync(join(envDir, "part.njk"), "new part of {{ i }}");
  assert.equal(render("extra.njk", { i: 3 }), "new part of 3 file 3\n");
  assert.deepEqual(
    compiled.slice(2).map((p) => p.slice(envDir.length + 1)),
    ["part.njk"],
    "only the changed template is compiled again",
  );
});

test("an undefined variable still fails in a template read from the cache", () => {
  assert.throws(() => render("extra.njk", {}), /undefined|null/i);
});
