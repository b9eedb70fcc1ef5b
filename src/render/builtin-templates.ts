// gen's own templates, compiled by nunjucks when gen is built: scripts/bundle.mjs replaces this module's value in the
// bundle with them (a hash of their text, and their code as a function), so they are part of the bundle's scripts and of V8's
// code cache (src/cli/launcher.ts), neither read from gen's cache folder nor compiled by V8 at every start. In
// dist/src (gen run unbundled, tests in process) there are none: compiled-templates.ts then uses its cache folder.

export interface BuiltinTemplates {
  /** compiled-templates.ts' sourcesHash of the templates they were compiled from. */
  sources: string;
  /** Registers each template on window.nunjucksPrecompiled, as nunjucks' precompiled output does. */
  register(window: object): void;
}

export const BUILTIN_TEMPLATES: BuiltinTemplates | undefined = undefined;
