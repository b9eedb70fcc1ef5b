// Where a user's project is, looking upward from the working folder as npm and git do, and where its environments
// and template overrides are: --environments, else the "gen" key of the project's package.json, else its
// environments/ folder. Never inside the installed package: gen's own environments are presets.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { GenError } from "../errors.js";

export interface Project {
  /**
   * The project's folder: the nearest above the working folder whose package.json names gen (a "gen" key, or gen among
   * its dependencies); else the nearest with a package.json or a .git; else the working folder. Out/ and the
   * sandboxes (.gen-local/) are there, whatever subfolder gen runs in.
   */
  root: string;
  environmentsDir: string;
  /** Templates that replace gen's built-ins of the same name, when that folder exists. */
  templatesDir: string | undefined;
}

export interface ProjectSettings {
  environments?: string;
  templates?: string;
}

export function findProject(options: { environments?: string; templates?: string; cwd?: string } = {}): Project {
  const cwd = resolve(options.cwd ?? process.cwd());
  const found = findRoot(cwd);
  const settings = found.packageFile ? readSettings(found.packageFile) : {};
  const root = found.root;
  const environmentsDir = options.environments
    ? environmentsOption(cwd, options.environments)
    : settings.environments
      ? resolve(root, settings.environments)
      : defaultEnvironments(cwd, found);
  const templates = options.templates
    ? resolve(cwd, options.templates)
    : settings.templates
      ? resolve(root, settings.templates)
      : join(environmentsDir, "templates");
  return { root, environmentsDir, templatesDir: existsSync(templates) ? templates : undefined };
}

interface FoundRoot {
  root: string;
  /** The package.json whose "gen" key applies: the project's, or the nearest one when none names gen. */
  packageFile?: string;
  /** Whether a package.json naming gen marks the project (else the root is only the nearest package.json or .git). */
  namesGen: boolean;
}

function findRoot(cwd: string): FoundRoot {
  let nearest: FoundRoot | undefined;
  for (let dir = cwd; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      // Only the nearest package.json must parse (its "gen" key would apply); one further up that does not is passed.
      const data = nearest ? parsedOrUndefined(file) : parsePackage(file);
      if (namesGen(data)) return { root: dir, packageFile: file, namesGen: true };
      nearest ??= { root: dir, packageFile: file, namesGen: false };
    } else if (!nearest && existsSync(join(dir, ".git"))) {
      nearest = { root: dir, namesGen: false };
    }
    if (dirname(dir) === dir) return nearest ?? { root: cwd, namesGen: false };
  }
}

/** A package.json names gen with its "gen" key, by depending on gen, or by being gen's own (a clone of gen). */
function namesGen(data: unknown): boolean {
  if (data === null || typeof data !== "object") return false;
  const pkg = data as Record<string, unknown>;
  if (pkg.gen !== undefined || pkg.name === "gen") return true;
  return ["dependencies", "devDependencies", "optionalDependencies"].some((key) => {
    const deps = pkg[key];
    return deps !== null && typeof deps === "object" && Object.hasOwn(deps, "gen");
  });
}

/**
 * A project that names gen keeps its environments beside its package.json. Without one, ./environments when it exists,
 * else the one beside the nearest package.json or .git: not any folder of that name on the way up (an Angular front
 * end has src/environments/).
 */
function defaultEnvironments(cwd: string, found: FoundRoot): string {
  const beside = join(found.root, "environments");
  const here = join(cwd, "environments");
  return found.namesGen || (!existsSync(here) && existsSync(beside)) ? beside : here;
}

/** --environments names a folder; a file there is refused with the command that was probably meant. */
function environmentsOption(cwd: string, given: string): string {
  const dir = resolve(cwd, given);
  let isFile = false;
  try {
    isFile = !statSync(dir).isDirectory();
  } catch {
    // Missing: reported where an environment is looked for ("there is no folder ...", with `gen init`).
  }
  if (isFile) {
    const name = basename(dir).replace(/\.(ts|ya?ml|json)$/, "");
    const folder = relative(cwd, dirname(dir)) || ".";
    throw new GenError(
      `--environments ${given} is a file: it names the folder that holds the environment files (for this one: gen <command> ${name} --environments ${folder})`,
    );
  }
  return dir;
}

function parsePackage(packageFile: string): unknown {
  try {
    return JSON.parse(readFileSync(packageFile, "utf8"));
  } catch (error) {
    throw new GenError(`${packageFile}: cannot parse: ${(error as Error).message}`);
  }
}

function parsedOrUndefined(packageFile: string): unknown {
  try {
    return JSON.parse(readFileSync(packageFile, "utf8"));
  } catch {
    return undefined;
  }
}

/** The optional "gen" key: { "environments": "deploy", "templates": "deploy/templates" }, paths relative to package.json. */
export function readSettings(packageFile: string): ProjectSettings {
  const data = parsePackage(packageFile);
  const gen = (data as { gen?: unknown } | null)?.gen;
  if (gen === undefined) return {};
  if (gen === null || typeof gen !== "object" || Array.isArray(gen))
    throw new GenError(`${packageFile}: gen: expected an object such as { "environments": "deploy" }`);
  const settings: ProjectSettings = {};
  for (const [key, value] of Object.entries(gen)) {
    if (key !== "environments" && key !== "templates") throw new GenError(`${packageFile}: gen.${key}: unknown setting; known: environments, templates`);
    if (typeof value !== "string" || value === "") throw new GenError(`${packageFile}: gen.${key}: expected a folder path relative to package.json`);
    settings[key] = value;
  }
  return settings;
}
