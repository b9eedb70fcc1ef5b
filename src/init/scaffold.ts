// What `gen init` writes: a base environment on gen's TSOSI preset, prod, a sandbox on this machine, the
// .gitignore line for secrets, a tsconfig that type-checks them, the JSON Schema for editors, and the lines the
// project's .gitignore needs. Pure: text out.

export interface ScaffoldFile {
  name: string;
  content: string;
}

const BASE = `// What every server of this application shares, on top of gen's TSOSI preset (gen show base prints the result).
// Edit freely: an unknown or misspelled key is a type error (npx tsc -p <this folder>) and a run-time error.
import { defineEnvironment } from "gen";

export default defineEnvironment({
  extends: "preset:tsosi",
  description: "What every server of this application shares",
  app: { domain: "app.example.org", redirectDomains: [] },
});
`;

const PROD = `// The production server. Secrets are never written here: set TSOSI_DB_PASSWORD and TSOSI_SECRET_KEY in the
// environment, or in prod.secrets.env beside this file (git ignores it).
import { defineEnvironment } from "gen";

export default defineEnvironment({
  extends: "base",
  description: "Production",
  server: { host: "app.example.org", sshUser: "deployer" },
});
`;

const SANDBOX = `// A sandbox on this machine: the folder .gen-local/sandbox stands in for the server's "/". gen diff, apply,
// deploy, releases and rollback run against it without SSH and without root; owners and service commands are
// recorded (in .gen-local/sandbox/.gen-sandbox/), not applied.
import { defineEnvironment, secret } from "gen";

export default defineEnvironment({
  extends: "base",
  description: "Sandbox: a local folder instead of a server",
  server: { transport: "local", localRoot: ".gen-local/sandbox" },
  nginx: { tls: false },
  postgres: { password: secret("TSOSI_DB_PASSWORD", { default: "sandbox-only-password" }) },
  django: { settings: { SECRET_KEY: secret("TSOSI_SECRET_KEY", { default: "sandbox-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ" }) } },
  release: { source: "archive", install: [], tasks: [] },
});
`;

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

export function scaffoldFiles(jsonSchema: unknown): ScaffoldFile[] {
  return [
    { name: "base.ts", content: BASE },
    { name: "prod.ts", content: PROD },
    { name: "sandbox.ts", content: SANDBOX },
    { name: ".gitignore", content: GITIGNORE },
    { name: "tsconfig.json", content: TSCONFIG },
    { name: SCHEMA_FILE, content: `${JSON.stringify(jsonSchema, null, 2)}\n` },
  ];
}
