// Where a user's environments and template overrides are: --environments, else the "gen" key of the project's
// package.json, else ./environments. Never inside the installed package: gen's own environments are presets.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { GenError } from "../errors.js";

export interface Project {
  /** The folder of the nearest package.json above the working folder, else the working folder. */
  root: string;
  environmentsDir: string;
  /** Templates that replace gen's built-ins of the same name, when that folder exists. */
  templatesDir: string | undefined;
  /** How environmentsDir was chosen, for messages. */
  from: string;
}

export interface ProjectSettings {
  environments?: string;
  templates?: string;
}

export function findProject(options: { environments?: string; templates?: string; cwd?: string } = {}): Project {
  const cwd = resolve(options.cwd ?? process.cwd());
  const packageFile = nearestPackageJson(cwd);
  const root = packageFile ? dirname(packageFile) : cwd;
  const settings = packageFile ? readSettings(packageFile) : {};
  const [environmentsDir, from] = options.environments
    ? [resolve(cwd, options.environments), "--environments"]
    : settings.environments
      ? [resolve(root, settings.environments), `"gen": { "environments" } in ${packageFile}`]
      : [resolve(cwd, "environments"), "./environments"];
  const templates = options.templates
    ? resolve(cwd, options.templates)
    : settings.templates
      ? resolve(root, settings.templates)
      : join(environmentsDir, "templates");
  return { root, environmentsDir, templatesDir: existsSync(templates) ? templates : undefined, from };
}

function nearestPackageJson(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The optional "gen" key: { "environments": "deploy", "templates": "deploy/templates" }, paths relative to package.json. */
export function readSettings(packageFile: string): ProjectSettings {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(packageFile, "utf8"));
  } catch (error) {
    throw new GenError(`${packageFile}: cannot parse: ${(error as Error).message}`);
  }
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
