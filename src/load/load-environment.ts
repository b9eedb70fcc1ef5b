// Load: environment name in, a validated and resolved Environment plus its secret values out.
// Effects: reads environments/ (and the untracked secrets file) and the process environment, runs the commands of
// secrets that name one (a password manager); writes nothing.
import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { closest } from "fastest-levenshtein";
import type { Environment } from "../../schema/index.js";
import { GenError, UsageError } from "../errors.js";
import { presetsDir } from "../paths.js";
import { display, readDefinition } from "./read-definition.js";
import { isPlainObject, mergeDefinitions } from "./merge.js";
import { formatSchemaIssues } from "./schema-issues.js";
import { cachedEnvironment, storeEnvironment } from "./validation-cache.js";
import {
  findSecretReferences,
  readSecretsFile,
  resolveSecrets,
  runSecretCommands,
  setOutside,
  type SecretReference,
  type SecretValues,
} from "../secrets/index.js";

const EXTENSIONS = [".ts", ".yaml", ".yml", ".json"];
/** Files that tools keep beside the environments (gen init writes tsconfig.json there), never environments. */
const TOOL_FILES = new Set(["tsconfig", "jsconfig", "package", "package-lock"]);
const PRESET = "preset:";
/** The environment rendered when none is named: a user's own "example", else the shipped preset. */
export const EMBEDDED_EXAMPLE = "example";

export interface LoadedEnvironment {
  name: string;
  /** The environment file, relative to the working folder when inside it. */
  file: string;
  /** What rendered headers name: the file relative to the project root, or the preset. */
  source: string;
  environmentsDir: string;
  environment: Environment;
  secrets: SecretValues;
}

export interface LoadOptions {
  environmentsDir: string;
  processEnv?: NodeJS.ProcessEnv;
  /** Reuse the result of validating the same definition with the same schema (the CLI does). */
  cache?: boolean;
  /** Headers name the environment file relative to this folder (default: the working folder). */
  projectRoot?: string;
  /** false: commands that never render (show, releases, rollback, check) load without the secret values. */
  secrets?: boolean;
  /**
   * false: a secret that only its command can give is not run for, and stands for itself ([secret:NAME]): for a
   * command that renders but needs no value (gen validate), so checking an environment never unlocks a password manager.
   */
  secretCommands?: boolean;
  /** Called with the number of `files` entries of the merged definition once it is read, before it is validated. */
  onFileCount?: (count: number) => void;
}

export function listEnvironments(environmentsDir: string): string[] {
  if (!existsSync(environmentsDir)) return [];
  const names = readdirSync(environmentsDir)
    .filter((f) => EXTENSIONS.some((ext) => f.endsWith(ext)) && !f.endsWith(".d.ts"))
    .map((f) => f.replace(/\.(ts|ya?ml|json)$/, ""))
    // Only names an environment can have: gen.schema.json and the like are not environments, nor tsconfig.json.
    .filter((name) => /^[A-Za-z0-9_-]+$/.test(name) && !TOOL_FILES.has(name));
  return [...new Set(names)].sort();
}

export function listPresets(): string[] {
  return listEnvironments(presetsDir);
}

/**
 * A user's environment file, or gen's preset for "preset:<name>". The embedded example is found even with no
 * environments folder; any other name without one is an error that points to `gen init`.
 */
export function findEnvironmentFile(environmentsDir: string, name: string): string {
  if (name.startsWith(PRESET)) return findPreset(name.slice(PRESET.length));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new UsageError(`"${name}" is not an environment name (letters, digits, _ and -)`);
  if (TOOL_FILES.has(name)) throw new UsageError(`"${name}" is not an environment name: ${name}.json configures a tool (gen list shows the environments)`);
  const found = EXTENSIONS.map((ext) => join(environmentsDir, name + ext)).filter((f) => existsSync(f));
  if (found.length > 1) throw new GenError(`environment ${name} is defined twice: ${found.map(display).join(" and ")}; keep one`);
  if (found.length === 1) return found[0]!;
  if (name === EMBEDDED_EXAMPLE) return findPreset(EMBEDDED_EXAMPLE);
  const known = listEnvironments(environmentsDir);
  if (known.length === 0) {
    const where = existsSync(environmentsDir) ? `no environment files in ${shownDir(environmentsDir)}` : `there is no folder ${shownDir(environmentsDir)}`;
    throw new GenError(
      `environment "${name}" not found: ${where}. Run \`gen init\` to create one, or name the folder with --environments DIR or "gen": { "environments": DIR } in package.json`,
    );
  }
  throw new UsageError(`unknown environment "${name}". Did you mean ${closest(name, known)}? Known: ${known.join(", ")} (gen list).`);
}

function shownDir(dir: string): string {
  const shown = display(dir);
  return shown.startsWith("/") ? shown : `./${shown}`;
}

function findPreset(name: string): string {
  const file = /^[A-Za-z0-9_-]+$/.test(name) ? EXTENSIONS.map((ext) => join(presetsDir, name + ext)).find((f) => existsSync(f)) : undefined;
  if (file) return file;
  const known = listPresets();
  throw new GenError(`unknown preset "${PRESET}${name}"; gen ships ${known.map((p) => PRESET + p).join(", ")}`);
}

/** The merged definition (base first), as data, before validation. */
export async function readMergedDefinition(environmentsDir: string, name: string, seen: string[] = []): Promise<{ file: string; data: unknown }> {
  if (seen.includes(name)) throw new GenError(`environments extend each other in a loop: ${[...seen, name].join(" -> ")}`);
  const file = findEnvironmentFile(environmentsDir, name);
  const data = await readDefinition(file);
  if (!isPlainObject(data) || data.extends === undefined) return { file, data };
  const { extends: baseName, ...overrides } = data;
  if (typeof baseName !== "string") throw new GenError(`${display(file)}: extends: expected the name of another environment or "preset:<name>"`);
  const base = await readMergedDefinition(environmentsDir, baseName, [...seen, name]);
  return { file, data: mergeDefinitions(base.data, overrides) };
}

/** zod is loaded only here, when a definition has to be validated. */
async function validateDefinition(name: string, shown: string, data: unknown, cache: boolean): Promise<Environment> {
  const { EnvironmentInputSchema, resolveEnvironment } = await import("../../schema/index.js");
  const parsed = EnvironmentInputSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const lines = formatSchemaIssues(shown, parsed.error.issues, EnvironmentInputSchema);
    throw new GenError(`${shown}: ${lines.length} problem${lines.length === 1 ? "" : "s"} in environment ${name}`, { details: lines });
  }
  const environment = resolveEnvironment(parsed.data);
  if (cache) await storeEnvironment(data, environment);
  return environment;
}

export async function loadEnvironment(name: string, options: LoadOptions): Promise<LoadedEnvironment> {
  const environmentsDir = resolve(options.environmentsDir);
  const { file, data } = await readMergedDefinition(environmentsDir, name);
  if (isPlainObject(data) && Array.isArray(data.files)) options.onFileCount?.(data.files.length);
  const shown = display(file);
  const environment = (options.cache ? await cachedEnvironment(data) : undefined) ?? (await validateDefinition(name, shown, data, options.cache ?? false));
  const secretsFile = join(environmentsDir, `${name}.secrets.env`);
  // Commands that need no secret value never read the file: an emergency rollback works without it, even when it
  // exists and cannot be read.
  const references = options.secrets === false ? [] : findSecretReferences(environment);
  const processEnv = options.processEnv ?? process.env;
  const fileValues = references.length > 0 ? readSecretsFile(secretsFile, display(secretsFile)) : {};
  const commands = options.secretCommands === false ? "placeholders" : await runCommands(references, processEnv, fileValues, environmentsDir);
  const secrets = resolveSecrets(references, { processEnv, secretsFile: display(secretsFile), fileValues, commands });
  if ("missing" in secrets) {
    throw new GenError(`${shown}: ${secrets.missing.length} secret${secrets.missing.length === 1 ? "" : "s"} missing or unusable`, {
      details: secrets.missing.map((line) => `${shown}: ${line}`),
    });
  }
  return { name, file: shown, source: sourceLabel(file, options.projectRoot), environmentsDir, environment, secrets: secrets.values };
}

/**
 * The values of some secret references only, for a command that can do without them (gen doctor's PostgreSQL
 * login): from the process environment or the secrets file, as loadEnvironment reads them, or why not.
 */
export async function resolveSomeSecrets(
  loaded: LoadedEnvironment,
  references: SecretReference[],
  processEnv: NodeJS.ProcessEnv = process.env,
): Promise<ReturnType<typeof resolveSecrets>> {
  const secretsFile = display(join(loaded.environmentsDir, `${loaded.name}.secrets.env`));
  let fileValues: Record<string, string> = {};
  let unreadable: GenError | undefined;
  try {
    fileValues = readSecretsFile(secretsFile);
  } catch (error) {
    if (!(error instanceof GenError)) throw error;
    // Doing without them is the point: a file that cannot be read is one more reason they are not set.
    unreadable = error;
  }
  const commands = await runCommands(references, processEnv, fileValues, loaded.environmentsDir);
  const resolved = resolveSecrets(references, { processEnv, secretsFile, fileValues, commands });
  return unreadable && "missing" in resolved ? { missing: [unreadable.message, ...resolved.missing] } : resolved;
}

/** Runs the commands of the secrets not set in the process environment or the secrets file. */
function runCommands(references: SecretReference[], processEnv: NodeJS.ProcessEnv, fileValues: Record<string, string>, environmentsDir: string) {
  return runSecretCommands(references, { isSet: (name) => setOutside({ processEnv, fileValues }, name), cwd: environmentsDir });
}

function sourceLabel(file: string, projectRoot: string | undefined): string {
  if (file.startsWith(`${presetsDir}/`)) return `${PRESET}${file.slice(presetsDir.length + 1).replace(/\.(ts|ya?ml|json)$/, "")} (shipped with gen)`;
  const rel = relative(projectRoot ?? process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}

/** The first problem of an environment's definition (reading, extends, schema), undefined when it is valid.
 * Secrets are not looked at: a machine without them still has a valid environment. */
export async function firstProblem(environmentsDir: string, name: string): Promise<string | undefined> {
  try {
    const { file, data } = await readMergedDefinition(resolve(environmentsDir), name);
    if ((await cachedEnvironment(data)) === undefined) await validateDefinition(name, display(file), data, true);
    return undefined;
  } catch (error) {
    if (error instanceof GenError && error.details.length > 0) return error.details[0];
    return error instanceof Error ? error.message : String(error);
  }
}
