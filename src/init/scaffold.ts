// What `gen init` writes: a base environment on gen's Django preset filled in from the project (read-project.ts),
// prod, a sandbox on this machine, the .gitignore line for secrets, a tsconfig that type-checks them, the JSON Schema
// for editors, and the lines the project's .gitignore needs. Pure: text out.
import type { DjangoProject } from "./read-project.js";

export interface ScaffoldFile {
  name: string;
  content: string;
}

/** base.ts: preset:django with what was read from the project, each line saying where it comes from. */
function baseFile(project: DjangoProject): string {
  const q = JSON.stringify;
  const app = [
    `name: ${q(project.name)}`,
    `domain: ${q(`${project.name.replace(/_/g, "-")}.example.org`)}`,
    ...(project.pythonVersion ? [`pythonVersion: ${q(project.pythonVersion)}`] : []),
    ...(project.packaging === "pip" ? ["poetry: null"] : []),
  ];
  const lines = [`  extends: "preset:django",`, `  description: "What every server of this application shares",`, `  app: { ${app.join(", ")} },`];
  if (project.settingsModule) {
    const top = project.settingsModule.split(".")[0];
    lines.push(`  // Each release links settings_local.py beside ${project.settingsModule}, which must end with \`from .settings_local import *\`.`);
    lines.push(`  django: { settingsModule: ${q(project.settingsModule)} },`);
    if (project.wsgiApp && project.wsgiApp !== `${top}.wsgi:application`) lines.push(`  gunicorn: { wsgiApp: ${q(project.wsgiApp)} },`);
  }
  if (project.staticFolder && project.staticFolder !== "static") lines.push(`  paths: { staticDir: ${q(`backend/${project.staticFolder}`)} }, // STATIC_ROOT`);
  const { celery, postgres, redis } = project.uses;
  if (celery) lines.push("  // Celery is among the dependencies: a worker and beat (beat: null when nothing is scheduled).", "  celery: {},");
  if (celery || redis)
    lines.push(
      `  // ${redis ? "Redis is among the dependencies" : "Celery's broker"}: CACHES, and CELERY_BROKER_URL for Celery's settings.`,
      `  redis: { settings: { CELERY_BROKER_URL: "url" } },`,
    );
  if (postgres)
    lines.push(
      "  // PostgreSQL (psycopg) is among the dependencies: DATABASES, with the database and its user named app.name.",
      `  postgres: { password: secret("DB_PASSWORD") },`,
    );
  const release = [
    ...(project.repository ? [`repository: ${q(project.repository)}`] : ['source: "archive"']),
    ...(project.backendFolder && project.backendFolder !== "backend" ? [`repositoryFolder: ${q(project.backendFolder)}`] : []),
    ...(project.frontend ? [`frontend: { dir: ${q(project.frontend.dir)}, output: ${q(project.frontend.output)} }`] : []),
  ];
  lines.push(`  release: { ${release.join(", ")} },`);
  return `// What every server of this application shares, on top of gen's Django preset (gen show base prints the result).
// gen init filled it in from the project. Edit freely: an unknown or misspelled key is a type error
// (npx tsc -p <this folder>) and a run-time error.
import { defineEnvironment${postgres ? ", secret" : ""} } from "gen";

export default defineEnvironment({
${lines.join("\n")}
});
`;
}

function secretNames(project: DjangoProject): string[] {
  return ["DJANGO_SECRET_KEY", ...(project.uses.postgres ? ["DB_PASSWORD"] : [])];
}

function prodFile(project: DjangoProject): string {
  const names = secretNames(project).join(" and ");
  return `// The production server. Secrets are never written here: set ${names} in the environment, or in
// prod.secrets.env beside this file (git ignores it). apply logs in as an administrator with passwordless sudo; the
// release step as the deploy user, which may only restart the application's services.
import { defineEnvironment } from "gen";

export default defineEnvironment({
  extends: "base",
  description: "Production",
  server: { host: ${JSON.stringify(`${project.name.replace(/_/g, "-")}.example.org`)}, sshUser: "admin", deployUser: "deployer" },
});
`;
}

function sandboxFile(project: DjangoProject): string {
  const postgres = project.uses.postgres ? `\n  postgres: { password: secret("DB_PASSWORD", { default: "sandbox-only-password" }) },` : "";
  return `// A sandbox on this machine: the folder .gen-local/sandbox stands in for the server's "/". gen diff, apply,
// deploy, releases and rollback run against it without SSH and without root; owners and service commands are
// recorded (in .gen-local/sandbox/.gen-sandbox/), not applied. A release is the local commit; nothing is installed,
// and its one task byte-compiles the backend (a syntax error fails the deploy).
import { defineEnvironment, secret } from "gen";

export default defineEnvironment({
  extends: "base",
  description: "Sandbox: a local folder instead of a server",
  server: { transport: "local", localRoot: ".gen-local/sandbox" },
  nginx: { tls: false },${postgres}
  django: { settings: { SECRET_KEY: secret("DJANGO_SECRET_KEY", { default: "sandbox-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ" }) } },
  release: { source: "archive", install: [], tasks: [["python3", "-m", "compileall", "-q", "."]] },
});
`;
}

const GITIGNORE = `# Secret values (NAME=value lines) stay out of git.
*.secrets.env
`;

/** module preserve + bundler resolution: what gen itself does when it compiles these files with esbuild. */
const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: { target: "ES2022", module: "preserve", moduleResolution: "bundler", strict: true, noEmit: true, skipLibCheck: true, types: [] },
    include: ["*.ts"],
  },
  null,
  2,
)}
`;

export const SCHEMA_FILE = "environment.schema.json";

/**
 * What the project's own .gitignore must hold, relative to where gen runs: out/ (gen render; its files hold secret
 * values with --show-secrets) and .gen-local/ (the sandboxes, a server's files with their secret values).
 */
export const PROJECT_IGNORES = ["/out/", "/.gen-local/"];

/** `gitignore` (the file's text, or undefined when there is none) with the lines of `ignores` it lacks appended. */
export function withIgnores(gitignore: string | undefined, ignores: string[]): { text: string; added: string[] } {
  const present = new Set((gitignore ?? "").split("\n").map((line) => line.trim().replace(/^\//, "").replace(/\/$/, "")));
  const added = ignores.filter((line) => !present.has(line.replace(/^\//, "").replace(/\/$/, "")));
  if (added.length === 0) return { text: gitignore ?? "", added };
  const before = gitignore === undefined || gitignore === "" ? "" : gitignore.endsWith("\n") ? `${gitignore}\n` : `${gitignore}\n\n`;
  return { text: `${before}# gen: rendered files and sandboxes, which can hold secret values\n${added.join("\n")}\n`, added };
}

export function scaffoldFiles(jsonSchema: unknown, project: DjangoProject): ScaffoldFile[] {
  return [
    { name: "base.ts", content: baseFile(project) },
    { name: "prod.ts", content: prodFile(project) },
    { name: "sandbox.ts", content: sandboxFile(project) },
    { name: ".gitignore", content: GITIGNORE },
    { name: "tsconfig.json", content: TSCONFIG },
    { name: SCHEMA_FILE, content: `${JSON.stringify(jsonSchema, null, 2)}\n` },
  ];
}
