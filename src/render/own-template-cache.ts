// An environment's own templates (extra files, the templates folder), compiled by nunjucks once and kept in gen's
// cache folder (cache-files.ts) under a hash of everything the compiled code depends on: nunjucks' version, the compile
// options, the template's path (nunjucks writes it into the code for includes) and its text. A changed template
// has a new hash, so the cache cannot be stale; an unwritable cache only costs the compile.
import { createHash } from "node:crypto";
import nunjucks from "nunjucks";
import { cacheDir, readCacheFile, writeCacheFile } from "../cache/cache-files.js";
import { nunjucksVersion } from "./compiled-templates.js";
import { namedOutputChecks, OUTPUT_CHECK, outputDefined, templateSyntaxError } from "./template-errors.js";

/** What nunjucks' Template takes in place of a source: the properties its compiled code returns. */
export interface CompiledProps {
  root: unknown;
  [block: string]: unknown;
}

type Compile = (source: string, path: string, options: Record<string, unknown>) => string;

const compileWithNunjucks: Compile = (source, path, options) =>
  (nunjucks as unknown as { compiler: { compile: (s: string, a: unknown[], e: unknown[], n: string, o: unknown) => string } }).compiler.compile(
    source,
    [],
    [],
    path,
    options,
  );

let compile: Compile = compileWithNunjucks;

/** For tests: count or replace the compiler; returns the function that puts nunjucks' back. */
export function setTemplateCompiler(hook: (next: Compile) => Compile): () => void {
  compile = hook(compileWithNunjucks);
  return () => {
    compile = compileWithNunjucks;
  };
}

export function compiledOwnTemplate(source: string, path: string, options: Record<string, unknown>): CompiledProps {
  const key = createHash("sha256")
    .update(JSON.stringify([nunjucksVersion(), options, path, source]))
    .digest("hex")
    .slice(0, 32);
  const name = `own-template-${key}.js`;
  let code = readCacheFile(cacheDir(), name)?.toString("utf8");
  if (code === undefined) {
    try {
      code = compile(source, path, options);
    } catch (error) {
      throw templateSyntaxError(path, error);
    }
    writeCacheFile(cacheDir(), name, code);
  }
  return new Function(OUTPUT_CHECK, namedOutputChecks(code, path))(outputDefined) as CompiledProps;
}
