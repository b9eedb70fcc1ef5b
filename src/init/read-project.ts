// What `gen init` reads from a Django project, so that the environments it writes fit it: where manage.py is (in
// the git repository), the settings and WSGI modules, STATIC_ROOT, the Python version and packaging (Poetry or
// requirements.txt), Celery, PostgreSQL and Redis among the dependencies, a front end with a build script, the git
// remote. In: the project's folder. Out: plain data and notes for the user. Effects: reads files, runs git; writes
// nothing. Nothing found is an error: each value falls back to preset:django's, and a note says what to check.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { readPythonProject } from "./read-python.js";

export interface DjangoProject {
  /** The application's short name (unit and file names): the repository's folder name, made a valid app.name. */
  name: string;
  /** manage.py's folder relative to the repository's root ("." for the root), when found. */
  backendFolder?: string;
  settingsModule?: string;
  /** module:callable, as Gunicorn names it. */
  wsgiApp?: string;
  /** STATIC_ROOT's folder inside the backend folder, when the settings write it as BASE_DIR / "name". */
  staticFolder?: string;
  pythonVersion?: string;
  /** poetry: pyproject.toml with [tool.poetry]; pip: requirements.txt. */
  packaging?: "poetry" | "pip";
  uses: { celery: boolean; postgres: boolean; redis: boolean };
  /** A folder of the repository with a package.json that has a build script. */
  frontend?: { dir: string; output: string };
  /** The git remote the server clones (origin, else the first). */
  repository?: string;
  /** What was read, for gen init's output: "settings mysite.settings (manage.py)". */
  found: string[];
  /** What the user should check or do. */
  notes: string[];
}

const SKIPPED = new Set(["node_modules", ".git", ".venv", "venv", "env", "__pycache__", "dist", "build", "out", ".gen-local"]);

export function readDjangoProject(projectDir: string): DjangoProject {
  const repoRoot = gitOutput(projectDir, ["rev-parse", "--show-toplevel"]) ?? projectDir;
  const project: DjangoProject = { name: appName(basename(repoRoot)), uses: { celery: false, postgres: false, redis: false }, found: [], notes: [] };
  const manage = findFile(repoRoot, "manage.py", 3);
  if (manage === undefined) {
    project.notes.push(`no manage.py in ${repoRoot}: set release.repositoryFolder, django.settingsModule and gunicorn.wsgiApp in base.ts`);
  } else {
    const backend = relative(repoRoot, join(manage, "..")) || ".";
    project.backendFolder = backend;
    project.found.push(`manage.py in ${backend === "." ? "the repository's root" : `${backend}/`}`);
    readModules(project, join(repoRoot, backend), readFileSync(manage, "utf8"));
    readPython(project, [join(repoRoot, backend), repoRoot]);
  }
  project.frontend = findFrontend(repoRoot);
  if (project.frontend) project.found.push(`a front end in ${project.frontend.dir}/ (its package.json has a build script)`);
  readRemote(project, repoRoot);
  return project;
}

/** A valid app.name: lowercase letters, digits and _, starting with a letter, at most 31 characters. */
function appName(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^[^a-z]+/, "")
    .slice(0, 31)
    .replace(/_+$/, "");
  return name || "app";
}

/** The shallowest `name` under `dir`, at most `depth` folders down, skipping virtualenvs and build output. */
function findFile(dir: string, name: string, depth: number): string | undefined {
  let level = [dir];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    for (const folder of level) if (existsSync(join(folder, name))) return join(folder, name);
    level = level.flatMap((folder) => subfolders(folder).map((sub) => join(folder, sub)));
  }
  return undefined;
}

function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !SKIPPED.has(e.name) && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** The settings module from manage.py; from the settings: the WSGI application, STATIC_ROOT, the settings_local import. */
function readModules(project: DjangoProject, backendDir: string, manage: string): void {
  const settingsModule = /DJANGO_SETTINGS_MODULE["']\s*,\s*["']([A-Za-z_][\w.]*)["']/.exec(manage)?.[1];
  if (settingsModule === undefined || !settingsModule.includes(".")) {
    project.notes.push("manage.py names no settings module: set django.settingsModule in base.ts");
    return;
  }
  project.settingsModule = settingsModule;
  project.found.push(`settings ${settingsModule} (manage.py)`);
  const settingsFile = moduleFile(backendDir, settingsModule);
  const settings = settingsFile ? readFileSync(settingsFile, "utf8") : "";
  const wsgi = /WSGI_APPLICATION\s*=\s*["']([A-Za-z_][\w.]*)\.([A-Za-z_]\w*)["']/.exec(settings);
  if (wsgi) {
    project.wsgiApp = `${wsgi[1]}:${wsgi[2]}`;
    project.found.push(`WSGI ${project.wsgiApp} (WSGI_APPLICATION)`);
  }
  const shown = settingsFile ? relative(backendDir, settingsFile) : settingsModule;
  const staticRoot = /STATIC_ROOT\s*=\s*(?:BASE_DIR\s*\/\s*["']([\w-]+)["']|os\.path\.join\(\s*BASE_DIR\s*,\s*["']([\w-]+)["']\s*\))/.exec(settings);
  if (staticRoot) project.staticFolder = staticRoot[1] ?? staticRoot[2];
  else
    project.notes.push(
      `${shown} sets no STATIC_ROOT that gen can read: collectstatic needs one, and nginx serves /static/ from the release's backend/static (add STATIC_ROOT = BASE_DIR / "static", or set paths.staticDir)`,
    );
  if (!/settings_local/.test(settings))
    project.notes.push(
      `${shown} does not import settings_local: add \`from .settings_local import *  # noqa\` at its end, so that the server's settings (gen links settings_local.py beside it) apply`,
    );
}

/** A dotted module's file under the backend folder: mod/name.py or mod/name/__init__.py. */
function moduleFile(backendDir: string, module: string): string | undefined {
  const base = join(backendDir, ...module.split("."));
  return [`${base}.py`, join(base, "__init__.py")].find((file) => existsSync(file));
}

/** Poetry or pip, the Python version and the dependencies gen has a component for. */
function readPython(project: DjangoProject, dirs: string[]): void {
  const python = readPythonProject(dirs);
  if (python.packaging) project.packaging = python.packaging;
  if (python.pythonVersion) project.pythonVersion = python.pythonVersion;
  project.found.push(...python.found);
  project.notes.push(...python.notes);
  const uses = (...names: string[]) => names.some((name) => python.dependencies.has(name));
  project.uses = {
    celery: uses("celery"),
    postgres: uses("psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary"),
    redis: uses("redis", "django-redis", "hiredis"),
  };
  const used = Object.entries({ Celery: project.uses.celery, PostgreSQL: project.uses.postgres, Redis: project.uses.redis }).filter(([, on]) => on);
  if (used.length > 0) project.found.push(`${used.map(([name]) => name).join(", ")} (the dependencies)`);
  if (!uses("gunicorn")) project.notes.push("gunicorn is not among the dependencies: add it (Gunicorn serves the application)");
}

/** A folder of the repository (not its root) whose package.json has a build script; its output guessed from its tools. */
function findFrontend(repoRoot: string): DjangoProject["frontend"] {
  for (const dir of subfolders(repoRoot)) {
    const file = join(repoRoot, dir, "package.json");
    if (!existsSync(file)) continue;
    let data: { scripts?: Record<string, string>; dependencies?: object; devDependencies?: object };
    try {
      data = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      continue;
    }
    if (typeof data.scripts?.build !== "string") continue;
    const tools = Object.keys({ ...data.dependencies, ...data.devDependencies });
    return { dir, output: `${dir}/${tools.includes("react-scripts") ? "build" : "dist"}` };
  }
  return undefined;
}

function readRemote(project: DjangoProject, repoRoot: string): void {
  const remotes = (gitOutput(repoRoot, ["remote"]) ?? "").split("\n").filter(Boolean);
  const remote = remotes.includes("origin") ? "origin" : remotes[0];
  // An http(s) remote may carry a token as its user: never copied into a file that is committed.
  const url = remote ? gitOutput(repoRoot, ["remote", "get-url", remote])?.replace(/^(https?:\/\/)[^@/]*@/i, "$1") : undefined;
  if (url && /^[^\s\0-\x1f]+$/.test(url)) {
    project.repository = url;
    project.found.push(`the git remote ${remote} (${url})`);
  } else {
    project.notes.push("no git remote: prod deploys with --source archive (the local commit is uploaded) until release.repository names one");
  }
}

function gitOutput(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", ["-C", cwd, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}
