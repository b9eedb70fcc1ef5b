// import.meta's url and resolve for the bin, built as CommonJS (scripts/bundle.mjs injects this file): those of its
// own file, as they were when it was an ES module. Resolution is require's, which finds what gen looks up (package
// files of its dependencies) where import would.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

export const importMetaUrl = pathToFileURL(__filename).href;
export const importMetaResolve = (specifier) => pathToFileURL(createRequire(__filename).resolve(specifier)).href;
