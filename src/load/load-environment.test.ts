import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { GenError, UsageError } from "../errors.js";
import { packageRoot } from "../paths.js";
import { loadEnvironment } from "./load-environment.js";

const environmentsDir = join(packageRoot, "environments");
const fixturesDir = join(packageRoot, "test", "fixtures", "environments");
const SECRETS = { TSOSI_DB_PASSWORD: "db-password-0123", TSOSI_SECRET_KEY: "secret-key-0123456789" };

const tempDirs: string[] = [];
after(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A temp environments folder holding copies of some fixtures plus extra files written here. */
function tempEnvironments(fixtures: string[], files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "gen-load-test-"));
  tempDirs.push(dir);
  for (const name of fixtures) copyFileSync(join(fixturesDir, name), join(dir, name));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** How the loader shows a file in messages: relative to the working folder when inside it. */
function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}

async function loadError(name: string, dir: string, processEnv: NodeJS.ProcessEnv = SECRETS): Promise<GenError> {
  try {
    await loadEnvironment(name, { environmentsDir: dir, processEnv });
  } catch (error) {
    assert.ok(error instanceof GenError, `expected a GenError, got ${String(error)}`);
    return error;
  }
  assert.fail(`loading ${name} should have failed`);
}

/** Everything a user would see: the message and its detail lines. */
function fullText(error: GenError): string {
  return [error.message, ...error.details].join("\n");
}

describe("schema problems", () => {
  test("reports every schema problem at once, one line each", async () => {
    const file = join(fixturesDir, "broken-schema.yaml");
    const error = await loadError("broken-schema", fixturesDir);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /7 problems in environment broken-schema/);
    assert.equal(error.details.length, 7, error.details.join("\n"));
    for (const line of error.details) {
      assert.ok(!line.includes("\n"), `one line per problem: ${JSON.stringify(line)}`);
      assert.ok(line.startsWith(`${shown(file)}: `), `starts with the file: ${line}`);
      assert.match(line, /^[^:]+: [A-Za-z0-9_.]+: \S/, `<file>: <dotted.field>: <message>: ${line}`);
    }
    const find = (field: string) => error.details.find((line) => line.startsWith(`${shown(file)}: ${field}: `));
    const workers = find("gunicorn.workers");
    assert.ok(workers, error.details.join("\n"));
    assert.ok(workers.includes("gunicorn.workers: expected a whole number >= 1"), workers);
    assert.ok(workers.endsWith(', got "five"'), workers);
    assert.ok(find("app.domain")?.endsWith(', got "TSOSI org"'), find("app.domain"));
    assert.ok(find("nginx.tls")?.endsWith(', got "yes"'), find("nginx.tls"));
    assert.ok(find("logrotate.frequency")?.endsWith(', got "weekyl"'), find("logrotate.frequency"));
    assert.ok(find("app.name"), "the missing app.name is reported");
  });

  test("reports an unknown field with its path and the closest known field", async () => {
    const error = await loadError("broken-schema", fixturesDir);
    const file = shown(join(fixturesDir, "broken-schema.yaml"));
    assert.ok(error.details.includes(`${file}: gunicorn.wokers: unknown field (check its spelling); did you mean "workers"?`), error.details.join("\n"));
    assert.ok(error.details.includes(`${file}: servers: unknown field (check its spelling); did you mean "server"?`), error.details.join("\n"));
  });

  test("reports a missing required field as required, without a got part", async () => {
    const error = await loadError("broken-schema", fixturesDir);
    const line = error.details.find((l) => l.includes(": app.name: "));
    assert.ok(line, error.details.join("\n"));
    assert.match(line, /: app\.name: required\b/, line);
    assert.ok(!line.includes(", got "), line);
  });

  test("refuses a sudoers file name with a dot, saying that sudo would skip it", async () => {
    const error = await loadError("sudoers-dot", fixturesDir);
    assert.equal(error.details.length, 1, error.details.join("\n"));
    const line = error.details[0]!;
    assert.ok(line.startsWith(`${shown(join(fixturesDir, "sudoers-dot.yaml"))}: sudoers.fileName: `), line);
    assert.match(line, /sudo silently skips drop-ins whose name contains '\.'/);
    assert.ok(line.endsWith(', got "tsosi.conf"'), line);
  });
});

describe("file formats", () => {
  test("loads YAML and JSON environments that resolve the same as the equivalent TypeScript one", async () => {
    const load = (name: string) => loadEnvironment(name, { environmentsDir: fixturesDir, processEnv: SECRETS });
    const [ts, yaml, json] = await Promise.all([load("prod-as-ts"), load("prod-as-yaml"), load("prod-as-json")]);
    assert.deepEqual(yaml.environment, ts.environment);
    assert.deepEqual(json.environment, ts.environment);
    assert.deepEqual([...yaml.secrets.values], [...ts.secrets.values]);
    assert.deepEqual([...json.secrets.values], [...ts.secrets.values]);
    assert.equal(yaml.file, shown(join(fixturesDir, "prod-as-yaml.yaml")));
  });

  test("the fixtures are the real prod environment (base.ts + prod.ts) written out", async () => {
    const prod = await loadEnvironment("prod", { environmentsDir, processEnv: SECRETS });
    const ts = await loadEnvironment("prod-as-ts", { environmentsDir: fixturesDir, processEnv: SECRETS });
    assert.deepEqual(ts.environment, prod.environment);
  });
});

describe("TypeScript environments run as ES modules would", () => {
  /** An environment extending the example, whose description is computed by `code` (a statement setting `description`). */
  const environment = (code: string) =>
    `import { defineEnvironment } from "gen";\nlet description = "unset";\n${code}\nexport default defineEnvironment({ extends: "preset:example", description });\n`;

  test("in strict mode: assigning an undeclared name fails the load, naming the file", async () => {
    const dir = tempEnvironments([], { "sloppy.ts": environment(`function f() { strayName = 1; }\nf();`) });
    const error = await loadError("sloppy", dir);
    assert.match(error.message, /sloppy\.ts: failed while loading: strayName is not defined$/);
    assert.equal(Object.hasOwn(globalThis, "strayName"), false);
  });

  test("with top-level await and import.meta, which CommonJS cannot hold, and Node's built-ins", async () => {
    const dir = tempEnvironments([], {
      "awaits.ts": environment(`description = await Promise.resolve("awaited");`),
      "meta.ts": environment(`description = typeof import.meta.url;`),
      "builtin.ts": `import { basename } from "node:path";\n${environment(`description = basename("/a/b.txt");`)}`,
    });
    const load = async (name: string) => (await loadEnvironment(name, { environmentsDir: dir, processEnv: {} })).environment.description;
    assert.equal(await load("awaits"), "awaited");
    assert.equal(await load("meta"), "string");
    assert.equal(await load("builtin"), "b.txt", "a Node built-in, left out of the bundle, is imported");
  });

  test("with a dynamic import() of a Node built-in that is not awaited at the top", async () => {
    const dir = tempEnvironments([], {
      "dynamic.ts": environment(`import("node:path").then((m) => { (globalThis as Record<string, unknown>).genDynamicImport = typeof m.basename; });`),
    });
    const shared = globalThis as Record<string, unknown>;
    try {
      await loadEnvironment("dynamic", { environmentsDir: dir, processEnv: {} });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(shared.genDynamicImport, "function");
    } finally {
      delete shared.genDynamicImport;
    }
  });
});

describe("extends", () => {
  test("merges objects key by key and replaces arrays, across formats and levels", async () => {
    const base = await loadEnvironment("prod-as-yaml", { environmentsDir: fixturesDir, processEnv: SECRETS });
    const child = await loadEnvironment("merge-child", { environmentsDir: fixturesDir, processEnv: SECRETS });
    const grandchild = await loadEnvironment("merge-grandchild", { environmentsDir: fixturesDir, processEnv: SECRETS });
    // arrays replace
    assert.deepEqual(child.environment.app.redirectDomains, ["www.tsosi.org"]);
    assert.deepEqual(grandchild.environment.django.extra.TSOSI_API_WHITELIST_IPS, ["10.0.0.1", "10.0.0.2"]);
    // objects merge: untouched siblings survive
    assert.equal(child.environment.app.domain, "tsosi.org");
    assert.equal(child.environment.app.name, "tsosi");
    assert.deepEqual(child.environment.app.extraAllowedHosts, base.environment.app.extraAllowedHosts);
    assert.equal(child.environment.paths.logs, "/srv/tsosi/logs");
    assert.equal(child.environment.paths.media, "/tsosi_media");
    assert.equal(child.environment.paths.config, "/home/deployer/config");
    assert.equal(child.environment.gunicorn.workers, 2);
    // derived fields follow the merged value
    assert.equal(child.environment.django.logFiles.ERROR_LOG_FILE, "/srv/tsosi/logs/error.log");
    // a second level keeps the first level's overrides and the base's values
    assert.equal(grandchild.environment.gunicorn.workers, 2);
    assert.equal(grandchild.environment.gunicorn.timeoutStopSeconds, 9);
    assert.equal(grandchild.environment.django.extra.TSOSI_TRIGGER_JOBS, true);
    assert.equal(grandchild.environment.description, "a second level of extends");
    assert.equal(grandchild.environment.release.repository, "https://github.com/tsosi-org/tsosi-app.git");
  });

  test("refuses environments that extend each other in a loop", async () => {
    const error = await loadError("loop-a", fixturesDir);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /loop/);
    assert.ok(error.message.includes("loop-a -> loop-b -> loop-a"), error.message);
  });
});

describe("environment names", () => {
  test("an unknown environment name is a usage error (exit 2) suggesting the closest name", async () => {
    const error = await loadError("prdo", environmentsDir);
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error.name}`);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /unknown environment "prdo"/);
    assert.match(error.message, /Did you mean prod\?/);
  });

  test("a name that is not a file name is a usage error", async () => {
    const error = await loadError("../prod", environmentsDir);
    assert.ok(error instanceof UsageError);
    assert.equal(error.exitCode, 2);
  });
});

describe("secrets", () => {
  test("names the field, the variable and the secrets file of every missing secret at once", async () => {
    const dir = tempEnvironments(["prod-as-yaml.yaml"]);
    const error = await loadError("prod-as-yaml", dir, {});
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /2 secrets missing/);
    assert.equal(error.details.length, 2, error.details.join("\n"));
    const secretsFile = shown(join(dir, "prod-as-yaml.secrets.env"));
    const password = error.details.find((l) => l.includes("postgres.password"));
    const key = error.details.find((l) => l.includes("django.settings.SECRET_KEY"));
    assert.ok(password && key, error.details.join("\n"));
    assert.ok(password.includes("TSOSI_DB_PASSWORD") && password.includes(secretsFile), password);
    assert.ok(key.includes("TSOSI_SECRET_KEY") && key.includes(secretsFile), key);
  });

  test("reads the secrets file <name>.secrets.env beside the environment", async () => {
    const dir = tempEnvironments(["prod-as-yaml.yaml"], {
      "prod-as-yaml.secrets.env": 'TSOSI_DB_PASSWORD=from-file-password\nTSOSI_SECRET_KEY="from file # not a comment"\n',
    });
    const loaded = await loadEnvironment("prod-as-yaml", { environmentsDir: dir, processEnv: {} });
    assert.equal(loaded.secrets.values.get("TSOSI_DB_PASSWORD"), "from-file-password");
    assert.equal(loaded.secrets.values.get("TSOSI_SECRET_KEY"), "from file # not a comment");
    assert.equal(loaded.secrets.lookup({ secret: "TSOSI_DB_PASSWORD" }), "from-file-password");
  });

  test("the process environment wins over the secrets file", async () => {
    const dir = tempEnvironments(["prod-as-yaml.yaml"], {
      "prod-as-yaml.secrets.env": "TSOSI_DB_PASSWORD=from-file-password\nTSOSI_SECRET_KEY=from-file-secret-key\n",
    });
    const loaded = await loadEnvironment("prod-as-yaml", { environmentsDir: dir, processEnv: { TSOSI_DB_PASSWORD: "from-process-env" } });
    assert.equal(loaded.secrets.values.get("TSOSI_DB_PASSWORD"), "from-process-env");
    assert.equal(loaded.secrets.values.get("TSOSI_SECRET_KEY"), "from-file-secret-key");
  });

  test("a secret value never appears in the error messages", async () => {
    const tooShortInEnv = "hunter2";
    const tooShortInFile = "x9#Qz";
    const dir = tempEnvironments(["prod-as-yaml.yaml"], { "prod-as-yaml.secrets.env": `TSOSI_SECRET_KEY=${tooShortInFile}\n` });
    const error = await loadError("prod-as-yaml", dir, { TSOSI_DB_PASSWORD: tooShortInEnv });
    assert.equal(error.details.length, 2, error.details.join("\n"));
    assert.ok(
      error.details.every((l) => /shorter than 8 characters/.test(l)),
      error.details.join("\n"),
    );
    const text = fullText(error);
    assert.ok(!text.includes(tooShortInEnv), text);
    assert.ok(!text.includes(tooShortInFile), text);
  });

  test("a secret value set beside a schema problem does not appear in the schema report", async () => {
    const value = "s3cr3t-value-for-schema-test";
    const error = await loadError("broken-schema", fixturesDir, { TSOSI_DB_PASSWORD: value, TSOSI_SECRET_KEY: value });
    assert.ok(!fullText(error).includes(value));
  });
});
