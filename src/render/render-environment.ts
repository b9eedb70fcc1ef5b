// Render: a resolved environment and its secret values in, rendered files and the manifest out.
// Pure: reads only the templates, no clock, no host name, so the same input gives the same bytes.
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import nunjucks from "nunjucks";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { environmentRedactor, placeholder, resolveTemplateVars, type SecretLookup } from "../secrets/index.js";
import { templatesDir } from "../paths.js";
import { compiledTemplates, LEXER_OPTIONS } from "./compiled-templates.js";
import type { Manifest, ManifestFile, RenderedFile } from "../types.js";
import { logrotateWord, nginxValue, sudoersWord, systemdArgv } from "./escape.js";
import { fileSpecs, folderSpecs, type FileSpec } from "./file-specs.js";
import { pythonLiteral } from "./python-literal.js";
import { djangoSettings } from "./settings.js";
import { undefinedOutputIn } from "./template-errors.js";
import { checkTemplateInside, ContainedLoader } from "./template-loader.js";
import { redisIsLocal, unitRequires } from "./unit-relations.js";

export interface RenderInput {
  name: string;
  environment: Environment;
  /** Resolves a secret reference to its value (the loader has checked that every one is set). */
  secrets: SecretLookup;
  /** Folder of the environment files, for the templates of extra files. */
  environmentsDir: string;
  /** What the header of each file names as its source (default environments/<name>). */
  source?: string;
  /** A folder of templates that replace gen's built-ins of the same name. */
  templateOverrides?: string;
}

export interface RenderResult {
  files: RenderedFile[];
  manifest: Manifest;
  /** Built-in templates replaced by the user's templates folder. */
  overridden: string[];
}

export function renderEnvironment(input: RenderInput): RenderResult {
  const templates = templateEngine(input.environmentsDir, input.templateOverrides);
  const context = templateContext(input);
  // The same files rendered with every secret replaced by its placeholder: what may be shown. A filter in a
  // template (reverse, upper, base64...) then transforms the placeholder, never the value.
  const shownContext = templateContext({ ...input, secrets: placeholder });
  const specs = fileSpecs(input.environment);
  const overridden = input.templateOverrides ? overriddenTemplates(input.templateOverrides) : [];
  checkExtraTemplateNames(input, overridden);
  const duplicate = firstRepeatedPath(specs);
  if (duplicate) throw new GenError(`two files would be written to ${duplicate.path}: give the services, sites and files distinct names`);
  // Error messages may quote a refused value; secret values are replaced before anything leaves render.
  const redact = environmentRedactor(input.environment, input.secrets);
  const files = specs
    .map((spec) => renderFile(templates, spec, { real: context, shown: shownContext }, input.secrets, redact, input.environmentsDir))
    .sort((a, b) => byCodeUnits(a.path, b.path));
  return { files, manifest: buildManifest(input.name, input.environment, files), overridden };
}

/** The first spec whose path an earlier one has (a Set: thousands of extra files made a pairwise search take seconds). */
function firstRepeatedPath(specs: FileSpec[]): FileSpec | undefined {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.path)) return spec;
    seen.add(spec.path);
  }
  return undefined;
}

/** gen's built-in templates, by name. */
export function builtinTemplates(): string[] {
  return readdirSync(templatesDir)
    .filter((n) => n.endsWith(".njk"))
    .sort();
}

/** The built-ins that a user's templates folder replaces (same file name). */
export function overriddenTemplates(overridesDir: string): string[] {
  const own = new Set(existsSync(overridesDir) ? readdirSync(overridesDir) : []);
  return builtinTemplates().filter((name) => own.has(name));
}

/** An extra file's template named like a built-in would silently render gen's: say so instead. */
function checkExtraTemplateNames(input: RenderInput, overridden: string[]): void {
  const builtins = new Set(builtinTemplates());
  input.environment.files.forEach((file, i) => {
    if (builtins.has(file.template) && !overridden.includes(file.template)) {
      throw new GenError(
        `files[${i}].template: "${file.template}" is the name of a built-in template, which would be used instead of yours; ` +
          `rename your template, or put it in the templates folder to replace the built-in on purpose`,
      );
    }
  });
}

export function sha256(content: string): string {
  return createHash("sha256").update(content).digest("hex");
}

const hashes = new WeakMap<RenderedFile, string>();

/** sha256 of a file's content, computed once per file object (a changed copy is a new object). */
export function fileSha256(file: RenderedFile): string {
  let hash = hashes.get(file);
  if (hash === undefined) hashes.set(file, (hash = sha256(file.content)));
  return hash;
}

const engines = new Map<string, nunjucks.Environment>();

function templateEngine(environmentsDir: string, overridesDir: string | undefined): nunjucks.Environment {
  const key = `${environmentsDir}\n${overridesDir ?? ""}`;
  const cached = engines.get(key);
  if (cached) return cached;
  // The user's overrides come first, then gen's templates (precompiled), then an environment's own templates
  // (extra files), read from its folder. Both of the user's folders refuse templates behind links leaving them.
  const options = { ...LEXER_OPTIONS, throwOnUndefined: true };
  const loaders = [
    ...(overridesDir ? [new ContainedLoader(overridesDir, options)] : []),
    compiledTemplates(templatesDir),
    new ContainedLoader(environmentsDir, options),
  ];
  // dev: an error keeps its cause through nunjucks' wrapping, so an undefined output is reported by its template.
  const engine = new nunjucks.Environment(loaders, { ...options, dev: true });
  engine.addFilter("systemd_argv", systemdArgv);
  engine.addFilter("ngx", nginxValue);
  engine.addFilter("sudo_word", sudoersWord);
  engine.addFilter("sudo_argv", (argv: string[]) => argv.map(sudoersWord).join(" "));
  engine.addFilter("lr", logrotateWord);
  engines.set(key, engine);
  return engine;
}

function templateContext({ name, environment: env, secrets, source }: RenderInput): Record<string, unknown> {
  const release = `${env.paths.current}`;
  return {
    ...env,
    envName: name,
    sourceFile: source ?? `environments/${name}`,
    backendPath: `${release}/${env.paths.backendDir}`,
    publicPath: `${release}/${env.paths.publicDir}`,
    staticAlias: `${release}/${env.paths.staticDir}/`,
    serverNames: [env.app.domain, ...env.app.redirectDomains],
    redisIsLocal: redisIsLocal(env),
    requires: unitRequires(env),
    ...(env.celery ? celeryCommands(env.celery) : {}),
    settings: djangoSettings(env).map(([settingName, value]) => ({ name: settingName, literal: pythonLiteral(value, secrets) })),
  };
}

/** The command lines of the Celery units (celery multi for the worker, beat for the scheduler). */
function celeryCommands(celery: NonNullable<Environment["celery"]>) {
  const { beat } = celery;
  return {
    celeryMulti: (verb: string) => [
      ...celery.command,
      "-A",
      celery.app,
      "multi",
      verb,
      celery.nodeName,
      `--pidfile=${celery.pidFile}`,
      `--logfile=${celery.logFile}`,
      `--loglevel=${celery.logLevel}`,
      `--concurrency=${celery.concurrency}`,
    ],
    ...(beat
      ? {
          celeryBeat: [
            ...celery.command,
            "-A",
            celery.app,
            "beat",
            `--pidfile=${beat.pidFile}`,
            `--logfile=${beat.logFile}`,
            `--loglevel=${beat.logLevel}`,
            `--schedule=/var/lib/${beat.stateDirectory}/celerybeat-schedule`,
          ],
        }
      : {}),
  };
}

interface Contexts {
  real: Record<string, unknown>;
  shown: Record<string, unknown>;
}

function renderFile(
  templates: nunjucks.Environment,
  spec: FileSpec,
  contexts: Contexts,
  secrets: SecretLookup,
  redact: (text: string) => string,
  environmentsDir: string,
): RenderedFile {
  const { template, vars, entry } = spec;
  let content = "";
  let shown = "";
  if (template !== undefined) {
    if (entry !== undefined) checkTemplateInside(environmentsDir, template, entry);
    try {
      content = templates.render(template, { ...contexts.real, ...(vars ? resolveTemplateVars(vars, secrets) : {}) });
      shown = templates.render(template, { ...contexts.shown, ...(vars ? resolveTemplateVars(vars, placeholder) : {}) });
    } catch (error) {
      const message = undefinedOutputIn(error)?.message ?? (error as Error).message;
      throw new GenError(redact(`cannot render ${spec.path} from ${template}: ${message}`));
    }
  }
  // Whatever way a template uses a secret (a var, a setting, through any filter), the two renderings differ.
  const secret = spec.kind === "python-settings" || content !== shown;
  const mode = secret && entry !== undefined ? ownerOnly(spec.mode) : spec.mode;
  const { path, linkTarget, kind, owner, group, roles, handlers } = spec;
  // Written out, not spread from the spec: every file then shares one hidden class in V8 (spread, each had its own:
  // about 300 bytes a file), with the fields in the order out/<env>/manifest.json lists them.
  const file: RenderedFile =
    linkTarget === undefined
      ? { path, kind, mode, owner, group, roles, handlers, content, secret }
      : { path, linkTarget, kind, mode, owner, group, roles, handlers, content, secret };
  if (content !== shown) file.shown = shown;
  return file;
}

/** 0644 -> 0600, 0755 -> 0700, 0400 stays: a file holding a secret is for its owner alone. */
function ownerOnly(mode: string): string {
  return `0${mode.slice(-3, -2)}00`;
}

function buildManifest(name: string, env: Environment, files: RenderedFile[]): Manifest {
  const manifestFiles: ManifestFile[] = files.map((file) => {
    const { path, linkTarget, kind, mode, owner, group, roles, handlers, secret } = file;
    const sha256 = fileSha256(file);
    return linkTarget === undefined
      ? { path, kind, mode, owner, group, roles, handlers, secret, sha256 }
      : { path, linkTarget, kind, mode, owner, group, roles, handlers, secret, sha256 };
  });
  return { environment: name, files: manifestFiles, folders: folderSpecs(env) };
}

/**
 * Server paths in the order of their characters, the same on every machine. localeCompare sorted by the user's
 * locale (so a manifest could differ between two machines) and its collator cost a sixth of a render's start-up.
 */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
