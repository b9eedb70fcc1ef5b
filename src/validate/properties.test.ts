// Fuzzes every string field that reaches a rendered file with hostile text. For each generated environment one of
// three things must happen: the schema refuses it (loadEnvironment throws a GenError), render refuses it (throws),
// or every file keeps the structure of the baseline render (the same field with a benign value): sudoers allows
// exactly the expected commands, nginx has the same blocks and directives, units the same keys and argv, logrotate
// the same lines, and settings_local.py the same assignments of Python literals holding exactly the values.
// FUZZ_SEED and FUZZ_RUNS (default 100 per field) reproduce or deepen a run.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { Environment, PythonValue } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { loadEnvironment, readMergedDefinition, type LoadedEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { sudoersWord } from "../render/escape.js";
import { fileSpecs } from "../render/file-specs.js";
import { isSecretRef } from "../secrets/index.js";
import { renderEnvironment, type RenderResult } from "../render/render-environment.js";
import { djangoSettings } from "../render/settings.js";
import { systemdExecArgv } from "../../test/support/systemd-exec.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SECRETS = { TSOSI_DB_PASSWORD: "db-password-0123", TSOSI_SECRET_KEY: "secret-key-0123456789" };
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const SUDOERS_TOOL = spawnSync("cvtsudoers", ["-V"]).status === 0 ? "cvtsudoers" : spawnSync("visudo", ["-V"]).status === 0 ? "visudo" : undefined;

// ---------------------------------------------------------------------------------------------------------------
// The fields, each with a benign value (the baseline) and how to put a value into the prod input.

type Input = Record<string, unknown>;
interface Field {
  name: string;
  benign: string;
  apply: (input: Input, value: string) => void;
  /** Values always tried first (fast-check examples): hostile cases known to matter for this field. */
  examples?: string[];
}

function setPath(target: Input, path: string[], value: unknown): void {
  let node = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

/** A field at a dotted path; `init` first installs the list or object the field sits in. */
function at(name: string, benign: string, init?: Record<string, unknown>, examples?: string[]): Field {
  return {
    name,
    benign,
    examples,
    apply: (input, value) => {
      for (const [path, initial] of Object.entries(init ?? {})) setPath(input, path.split("."), structuredClone(initial));
      setPath(input, name.split("."), value);
    },
  };
}

const POETRY = "/home/deployer/.local/bin/poetry";
const scipost = { username: "user", password: "pass", client_id: "id", client_secret: "secret" };
const FIELDS: Field[] = [
  at("app.name", "tsosi"),
  at("app.domain", "tsosi.org"),
  at("app.redirectDomains.0", "www.tsosi.org"),
  at("app.redirectDomains.1", "tsosi.u-ga.fr"),
  at("app.extraAllowedHosts.1", "129.88.178.178"),
  at("app.poetry", POETRY),
  ...[
    "webRoot:/var/www",
    "releases:/var/www/releases",
    "current:/var/www/current",
    "media:/tsosi_media",
    "logs:/var/log/tsosi",
    "config:/home/deployer/config",
    "backendDir:backend",
    "staticDir:backend/static",
    "publicDir:public",
  ].map((pair) => at(`paths.${pair.split(":")[0]}`, pair.split(":")[1]!)),
  at("server.deployUser", "deployer"),
  at("server.deployGroup", "deployer"),
  at("server.webUser", "www-data"),
  at("server.webGroup", "www-data"),
  at("server.systemctl", "/usr/bin/systemctl", {}, ["/", "/usr/bin/"]),
  at("server.systemServices.0", "nginx", { "server.systemServices": ["nginx", "redis-server"] }),
  at("gunicorn.service", "tsosi_gunicorn"),
  at("gunicorn.socketPath", "/run/tsosi_gunicorn.sock"),
  at("gunicorn.socketUser", "www-data"),
  at("gunicorn.socketGroup", "www-data"),
  at("gunicorn.socketMode", "0660"),
  at("gunicorn.wsgiApp", "backend_site.wsgi:application"),
  ...[0, 1, 2].map((i) =>
    at(`gunicorn.command.${i}`, [POETRY, "run", "gunicorn"][i]!, { "gunicorn.command": [POETRY, "run", "gunicorn"] }, [
      "-/bin/true",
      "+/bin/sh",
      ";",
      "$MAINPID",
      "%h",
    ]),
  ),
  at("celery.service", "tsosi_celery"),
  at("celery.app", "backend_site"),
  at("celery.nodeName", "tsosi"),
  at("celery.runtimeDirectory", "celery"),
  at("celery.pidFile", "/run/celery/%n.pid"),
  at("celery.logFile", "/var/log/tsosi/celery_%n%I.log"),
  ...[0, 1, 2].map((i) =>
    at(`celery.command.${i}`, [POETRY, "run", "celery"][i]!, { "celery.command": [POETRY, "run", "celery"] }, ["-/bin/true", "@/bin/sh", ";", "${X}", "%n"]),
  ),
  at("celery.beat.service", "tsosi_celery_beat"),
  at("celery.beat.runtimeDirectory", "celery_beat"),
  at("celery.beat.pidFile", "/run/celery_beat/beat.pid"),
  at("celery.beat.logFile", "/var/log/tsosi/celery_beat.log"),
  at("redis.host", "127.0.0.1"),
  at("redis.service", "redis-server"),
  at("postgres.name", "tsosi"),
  at("postgres.user", "tsosi_user"),
  at("postgres.host", "127.0.0.1"),
  at("nginx.siteName", "tsosi-app"),
  at("nginx.certificate", "/etc/letsencrypt/live/tsosi.org/fullchain.pem"),
  at("nginx.certificateKey", "/etc/letsencrypt/live/tsosi.org/privkey.pem"),
  at("nginx.certbotOptions", "/etc/letsencrypt/options-ssl-nginx.conf"),
  at("nginx.dhparam", "/etc/letsencrypt/ssl-dhparams.pem"),
  at("nginx.clientMaxBodySize", "4G"),
  at("nginx.accessLog", "/var/log/nginx/access.log"),
  at("nginx.errorLog", "/var/log/nginx/error.log"),
  at("nginx.mediaAlias", "/tsosi_media/"),
  at("nginx.apiSocket", "/run/tsosi_gunicorn.sock"),
  at("nginx.locations.static", "/static/"),
  at("nginx.locations.media", "/media/"),
  at("nginx.locations.api", "/api/"),
  at("nginx.gzip.types.0", "text/plain", { "nginx.gzip.types": ["text/plain", "text/css"] }),
  at("sudoers.user", "deployer"),
  at("sudoers.fileName", "tsosi"),
  at("sudoers.rules.0.service", "nginx", {
    "sudoers.rules": [
      { service: "nginx", verbs: ["reload"] },
      { service: "tsosi_gunicorn", verbs: ["restart"] },
    ],
  }),
  at("logrotate.fileName", "tsosi"),
  at("logrotate.patterns.0", "/var/log/tsosi/*.log", { "logrotate.patterns": ["/var/log/tsosi/*.log", "/var/log/nginx/*.log"] }),
  at("logrotate.minsize", "5k"),
  at("logrotate.maxsize", "100k"),
  ...["MEDIA_URL:media/", "STATIC_URL:static/", "MEDIA_ROOT:/tsosi_media/"].map((pair) =>
    at(`django.settings.${pair.slice(0, pair.indexOf(":"))}`, pair.slice(pair.indexOf(":") + 1)),
  ),
  ...[
    "ERROR_LOG_FILE:error.log",
    "TSOSI_MAIN_LOG_FILE:/var/log/tsosi/tsosi_app.log",
    "TSOSI_DATA_LOG_FILE:tsosi_data.log",
    "TSOSI_DJANGO_LOG_FILE:/var/log/tsosi/django.log",
  ].map((pair) => at(`django.logFiles.${pair.slice(0, pair.indexOf(":"))}`, pair.slice(pair.indexOf(":") + 1))),
  at("django.folders.TSOSI_ERROR_OUTPUT_FOLDER", "~/tsosi_errors"),
  at("django.folders.TSOSI_TO_INGEST_DIR", "/home/deployer/ingest"),
  at("django.settingsModule", "backend_site.settings"),
  ...[
    "TSOSI_FRONTEND_CUSTOM_HEADER:X-Frontend-Origin",
    "TSOSI_PUBLIC_RELPATH:../public/",
    "TSOSI_DATA_EXPORT_FOLDER:/home/deployer/export",
    "TSOSI_API_RATE:100/day",
  ].map((pair) => at(`django.extra.${pair.slice(0, pair.indexOf(":"))}`, pair.slice(pair.indexOf(":") + 1))),
  at("django.settings.ALLOWED_HOSTS.0", "tsosi.org", { "django.settings.ALLOWED_HOSTS": ["tsosi.org", "www.tsosi.org", "tsosi.u-ga.fr"] }),
  at("django.extra.TSOSI_API_WHITELIST_IPS.0", "127.0.0.1"),
  at("django.extra.TSOSI_SCIPOST_AUTH.username", "user", { "django.extra.TSOSI_SCIPOST_AUTH": scipost }),
  at("django.extra.TSOSI_SCIPOST_AUTH.client_secret", "secret", { "django.extra.TSOSI_SCIPOST_AUTH": scipost }),
  at("django.extra.FUZZ_VALUE", "x"),
  at("django.extra.FUZZ_LIST.1", "b", { "django.extra.FUZZ_LIST": ["a", "b"] }),
  { name: "django.extra.FUZZ_DICT (a key)", benign: "key", apply: (input, value) => setPath(input, ["django", "extra", "FUZZ_DICT"], { [value]: value }) },
  at("release.branch", "main"),
];

// ---------------------------------------------------------------------------------------------------------------
// Hostile values: a benign value with hostile text inserted or swapped in, or hostile text alone.

const HOSTILE = [
  "\n",
  "\r",
  "\r\n",
  '"',
  "'",
  ";",
  "{",
  "}",
  "%",
  "%n",
  "%%",
  "\0",
  "\\",
  "#",
  " ",
  "\t",
  "$",
  "${X}",
  "$$",
  "`",
  "*",
  "?",
  "[",
  "]",
  ",",
  ":",
  "=",
  "!",
  "@",
  "+",
  "-",
  "|",
  "/",
  ".",
  "..",
  "/../",
  "^",
  "(",
  ")",
  "&",
  "<",
  ">",
  "~",
  "é",
  "\u2028",
  "\u0085",
  "\ud800",
  "\x7f",
];
const chunk = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 3 }) },
);
const hostileText = fc.array(chunk, { minLength: 1, maxLength: 5 }).map((parts) => parts.join(""));

function hostileValue(benign: string): fc.Arbitrary<string> {
  const cut = fc.nat({ max: benign.length });
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(cut, hostileText).map(([i, s]) => benign.slice(0, i) + s + benign.slice(i)) },
    // the start and the end of a value are where formats give characters a meaning of their own
    { weight: 2, arbitrary: hostileText.map((s) => s + benign) },
    { weight: 2, arbitrary: hostileText.map((s) => benign + s) },
    { weight: 2, arbitrary: fc.tuple(cut, cut, hostileText).map(([i, j, s]) => benign.slice(0, Math.min(i, j)) + s + benign.slice(Math.max(i, j))) },
    { weight: 2, arbitrary: hostileText },
    { weight: 1, arbitrary: fc.string({ unit: "binary" }) },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Loading and rendering one generated environment.

let workDir: string;
let prodInput: Input;

type Outcome = { kind: "schema" } | { kind: "render"; error: Error } | { kind: "rendered"; loaded: LoadedEnvironment; result: RenderResult };

async function tryRender(field: Field, value: string): Promise<Outcome> {
  const input = structuredClone(prodInput);
  field.apply(input, value);
  writeFileSync(join(workDir, "fuzz.json"), JSON.stringify(input));
  let loaded: LoadedEnvironment;
  try {
    loaded = await loadEnvironment("fuzz", { environmentsDir: workDir, processEnv: SECRETS });
  } catch (error) {
    if (error instanceof GenError) return { kind: "schema" };
    throw new Error(`the loader crashed instead of reporting a problem: ${String(error)}`);
  }
  try {
    return {
      kind: "rendered",
      loaded,
      result: renderEnvironment({ name: "fuzz", environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: workDir }),
    };
  } catch (error) {
    return { kind: "render", error: error as Error };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Structure of each file.

interface Shape {
  templates: string[];
  perTemplate: Record<string, unknown>;
  settingsNames: string[];
}

/** The rendered files by template name (unique paths are checked separately). */
function byTemplate(env: Environment, result: RenderResult): Map<string, { path: string; content: string; linkTarget?: string }> {
  const map = new Map<string, { path: string; content: string; linkTarget?: string }>();
  const specs = fileSpecs(env);
  for (const file of result.files) {
    const spec = specs.find((s) => s.path === file.path);
    map.set(spec?.template ?? `symlink:${file.kind}`, file);
  }
  return map;
}

const UNIT_TEMPLATES = ["gunicorn.socket.njk", "gunicorn.service.njk", "gunicorn-handover.service.njk", "celery.service.njk", "celery-beat.service.njk"];

function shapeProblems(env: Environment, result: RenderResult, baseline: Shape): { problems: string[]; shape: Omit<Shape, "settingsNames"> } {
  const problems: string[] = [];
  const paths = result.files.map((f) => f.path);
  const twice = paths.filter((p, i) => paths.indexOf(p) !== i);
  if (twice.length) problems.push(`two files at one path: ${twice.join(", ")}`);
  const files = byTemplate(env, result);
  const perTemplate: Record<string, unknown> = {};
  for (const [template, file] of files) {
    const lines = file.content.split("\n");
    if (template === "sudoers.njk") perTemplate[template] = sudoersShape(env, lines, problems);
    else if (template === "nginx-site.njk") perTemplate[template] = nginxShape(lines);
    else if (template === "logrotate.njk") perTemplate[template] = logrotateShape(env, lines, problems);
    else if (UNIT_TEMPLATES.includes(template)) perTemplate[template] = unitShape(template, env, lines, problems);
  }
  const shape = { templates: [...files.keys()].sort(), perTemplate };
  if (baseline.templates.length) {
    assertSame("files", shape.templates, baseline.templates, problems);
    for (const [template, value] of Object.entries(perTemplate)) assertSame(template, value, baseline.perTemplate[template], problems);
  }
  return { problems, shape };
}

function assertSame(what: string, actual: unknown, expected: unknown, problems: string[]): void {
  try {
    assert.deepEqual(actual, expected);
  } catch {
    problems.push(`${what}: structure changed: ${JSON.stringify(actual)} instead of ${JSON.stringify(expected)}`);
  }
}

function sudoersShape(env: Environment, lines: string[], problems: string[]): unknown {
  const rules = lines.filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const user = `${sudoersWord(env.sudoers.user)} `;
  for (const line of rules) if (!line.startsWith(user)) problems.push(`sudoers: line does not start with the user: ${JSON.stringify(line)}`);
  return { ruleLines: rules.length };
}

function nginxShape(lines: string[]): unknown {
  const code = lines.filter((l) => !l.trimStart().startsWith("#"));
  return {
    servers: code.filter((l) => /^\s*server \{$/.test(l)).length,
    directives: code.filter((l) => l.trimEnd().endsWith(";")).length,
    opens: code.filter((l) => l.trimEnd().endsWith("{")).length,
    closes: code.filter((l) => l.trim() === "}").length,
    lines: lines.length,
  };
}

function logrotateShape(env: Environment, lines: string[], problems: string[]): unknown {
  const first = lines.find((l) => l.trim() !== "" && !l.startsWith("#"));
  assertSame("logrotate patterns line", first?.split(" "), [...env.logrotate.patterns, "{"], problems);
  return { lines: lines.length };
}

function unitShape(template: string, env: Environment, lines: string[], problems: string[]): unknown {
  const keys: string[] = [];
  for (const line of lines) {
    if (line === "" || line.startsWith("#")) continue;
    if (/^\[[A-Za-z]+\]$/.test(line)) {
      keys.push(line);
      continue;
    }
    const match = /^([A-Za-z]+)=(.*)$/s.exec(line);
    if (!match) {
      problems.push(`${template}: not a section, key or comment: ${JSON.stringify(line)}`);
      continue;
    }
    const [, key, value] = match as unknown as [string, string, string];
    // celery.service requires redis only when redis runs on this server: that line comes and goes with redis.host.
    if (template === "celery.service.njk" && key === "Requires") continue;
    keys.push(key);
    const expected = expectedExec(template, key, env);
    if (expected) {
      try {
        assertSame(`${template} ${key}`, systemdExecArgv(value), expected, problems);
      } catch (error) {
        problems.push(`${template} ${key}: ${(error as Error).message}: ${value}`);
      }
    } else if (!key.startsWith("Exec") && /%/.test(value.replaceAll("%%", ""))) {
      problems.push(`${template}: systemd would expand a % specifier in ${line}`);
    }
  }
  return keys;
}

function expectedExec(template: string, key: string, env: Environment): string[] | undefined {
  const { gunicorn, celery } = env;
  if ((template === "gunicorn.service.njk" || template === "gunicorn-handover.service.njk") && key === "ExecStart")
    return [
      ...gunicorn.command,
      "--workers",
      String(gunicorn.workers),
      ...(gunicorn.preload ? ["--preload"] : []),
      "--graceful-timeout",
      String(gunicorn.gracefulTimeoutSeconds),
      gunicorn.wsgiApp,
    ];
  const multi = { ExecStart: "start", ExecStop: "stopwait", ExecReload: "restart" }[key];
  if (template === "celery.service.njk" && multi && celery) {
    return [
      ...celery.command,
      "-A",
      celery.app,
      "multi",
      multi,
      celery.nodeName,
      `--pidfile=${celery.pidFile}`,
      `--logfile=${celery.logFile}`,
      `--loglevel=${celery.logLevel}`,
      `--concurrency=${celery.concurrency}`,
    ];
  }
  if (template === "celery-beat.service.njk" && key === "ExecStart" && celery?.beat) {
    return [
      ...celery.command,
      "-A",
      celery.app,
      "beat",
      `--pidfile=${celery.beat.pidFile}`,
      `--logfile=${celery.beat.logFile}`,
      `--loglevel=${celery.beat.logLevel}`,
      `--schedule=/var/lib/${celery.beat.stateDirectory}/celerybeat-schedule`,
    ];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// sudoers through sudo's own parser, once per distinct content.

const sudoersVerdicts = new Map<string, string[]>();

function sudoersProblems(env: Environment, content: string): string[] {
  if (SUDOERS_TOOL === undefined) return [];
  const expected = [...env.sudoers.rules.flatMap((rule) => rule.verbs.map((verb) => `${env.server.systemctl} ${verb} ${rule.service}`))];
  const key = `${JSON.stringify(expected)}\n${env.sudoers.user}\n${content}`;
  const cached = sudoersVerdicts.get(key);
  if (cached) return cached;
  const file = join(workDir, "sudoers-dropin");
  writeFileSync(file, content);
  const problems: string[] = [];
  if (SUDOERS_TOOL === "visudo") {
    const run = spawnSync("visudo", ["-cf", file], { encoding: "utf8" });
    if (run.status !== 0) problems.push(`visudo rejects the drop-in: ${run.stderr.trim().split("\n")[0]}`);
  } else {
    const run = spawnSync("cvtsudoers", ["-f", "json", file], { encoding: "utf8" });
    if (run.status !== 0) problems.push(`cvtsudoers rejects the drop-in: ${run.stderr.trim().split("\n")[0]}`);
    else {
      type Spec = { User_List: Record<string, string>[]; Cmnd_Specs: { Commands: { command?: string }[] }[] };
      const specs: Spec[] = JSON.parse(run.stdout).User_Specs ?? [];
      const users = [...new Set(specs.flatMap((s) => s.User_List.map((u) => Object.values(u)[0])))];
      const commands = specs.flatMap((s) => s.Cmnd_Specs.flatMap((c) => c.Commands.map((x) => x.command ?? JSON.stringify(x))));
      assertSame("sudoers users", users, [env.sudoers.user], problems);
      assertSame("sudoers commands", commands, expected, problems);
    }
  }
  sudoersVerdicts.set(key, problems);
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// settings_local.py through Python's own parser: one long-lived python3, one JSON line per file.

const PYTHON_CHECK = `
import ast, json, sys
def same(a, b):
    if type(a) is not type(b): return False
    if isinstance(a, list): return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict): return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b
while True:
    raw = sys.stdin.buffer.readline()
    if not raw: break
    req = json.loads(raw)
    names, problems, values = [], [], {}
    try:
        tree = ast.parse(req["source"])
    except SyntaxError as e:
        tree = None
        problems.append("SyntaxError: %s" % e)
    for node in (tree.body if tree else []):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            problems.append("line %d: not NAME = literal" % node.lineno)
            continue
        name = node.targets[0].id
        names.append(name)
        try:
            values[name] = ast.literal_eval(node.value)
        except Exception as e:
            problems.append("%s: not a literal (%s)" % (name, e))
    if tree:
        for name, value in req["expected"]:
            if name not in values: problems.append("%s missing" % name)
            elif not same(values[name], value): problems.append("%s = %r, expected %r" % (name, values[name], value))
    sys.stdout.write(json.dumps({"names": names, "problems": problems}) + "\\n")
    sys.stdout.flush()
`;

class PythonChecker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  private buffered = "";

  constructor() {
    this.child = spawn(PYTHON, ["-c", PYTHON_CHECK]);
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => {
      this.buffered += chunk;
      for (let end = this.buffered.indexOf("\n"); end >= 0; end = this.buffered.indexOf("\n")) {
        const line = this.buffered.slice(0, end);
        this.buffered = this.buffered.slice(end + 1);
        this.waiting.shift()?.resolve(line);
      }
    });
    let stderr = "";
    this.child.stderr.on("data", (chunk) => (stderr += String(chunk)));
    this.child.on("exit", (code) => this.waiting.splice(0).forEach((w) => w.reject(new Error(`${PYTHON} exited (${code}): ${stderr}`))));
  }

  check(source: string, expected: [string, unknown][]): Promise<{ names: string[]; problems: string[] }> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve: (line) => resolve(JSON.parse(line)), reject });
      this.child.stdin.write(`${JSON.stringify({ source, expected })}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

function expectedSettings(loaded: LoadedEnvironment): [string, unknown][] {
  const resolve = (value: PythonValue): unknown => {
    if (isSecretRef(value)) return loaded.secrets.lookup(value);
    if (Array.isArray(value)) return value.map(resolve);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    return value;
  };
  return djangoSettings(loaded.environment).map(([name, value]) => [name, resolve(value)]);
}

// ---------------------------------------------------------------------------------------------------------------

let python: PythonChecker;
const stats: Record<string, { schema: number; render: number; rendered: number }> = {};
const started = Date.now();

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), "gen-properties-"));
  prodInput = (await readMergedDefinition(join(packageRoot, "environments"), "prod")).data as Input;
  python = new PythonChecker();
});

after(() => {
  python?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  const totals = Object.values(stats).reduce((t, s) => ({ schema: t.schema + s.schema, render: t.render + s.render, rendered: t.rendered + s.rendered }), {
    schema: 0,
    render: 0,
    rendered: 0,
  });
  console.log(
    `# properties: ${FIELDS.length} fields x ${RUNS} runs (seed ${SEED}, ${SUDOERS_TOOL ?? "no sudoers tool"}) in ${Date.now() - started} ms:` +
      ` ${totals.schema} refused by the schema, ${totals.render} by render, ${totals.rendered} rendered and checked`,
  );
});

/** JSON with every non-ASCII character escaped, so invisible separators show. */
function show(value: string): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

async function checkField(field: Field, baseline: { shape: Shape }, value: string): Promise<void> {
  const outcome = await tryRender(field, value);
  const counts = (stats[field.name] ??= { schema: 0, render: 0, rendered: 0 });
  counts[outcome.kind]++;
  if (outcome.kind !== "rendered") return;
  const { loaded, result } = outcome;
  const env = loaded.environment;
  const { problems } = shapeProblems(env, result, baseline.shape);
  const files = byTemplate(env, result);
  problems.push(...sudoersProblems(env, files.get("sudoers.njk")!.content));
  const site = files.get("nginx-site.njk")!;
  const link = files.get("symlink:symlink");
  if (link?.linkTarget !== site.path) problems.push(`sites-enabled link points at ${link?.linkTarget}, not ${site.path}`);
  const settings = await python.check(files.get("settings_local.py.njk")!.content, expectedSettings(loaded));
  problems.push(...settings.problems);
  assertSame("settings_local.py names", settings.names, baseline.shape.settingsNames, problems);
  if (problems.length) {
    throw new Error(`${field.name} = ${show(value)} renders files whose structure changed (FUZZ_SEED=${SEED}):\n  ${problems.join("\n  ")}`);
  }
}

async function baselineFor(field: Field): Promise<{ shape: Shape }> {
  const outcome = await tryRender(field, field.benign);
  assert.equal(
    outcome.kind,
    "rendered",
    `the benign value ${JSON.stringify(field.benign)} of ${field.name} must render: ${outcome.kind === "render" ? outcome.error.message : "refused by the schema"}`,
  );
  if (outcome.kind !== "rendered") throw new Error("unreachable");
  const empty: Shape = { templates: [], perTemplate: {}, settingsNames: [] };
  const { problems, shape } = shapeProblems(outcome.loaded.environment, outcome.result, empty);
  const settings = await python.check(
    byTemplate(outcome.loaded.environment, outcome.result).get("settings_local.py.njk")!.content,
    expectedSettings(outcome.loaded),
  );
  assert.deepEqual([...problems, ...settings.problems], [], `baseline of ${field.name}`);
  return { shape: { ...shape, settingsNames: settings.names } };
}

describe("hostile values in every field that reaches a file", () => {
  test("the field list covers distinct fields", () => {
    assert.equal(new Set(FIELDS.map((f) => f.name)).size, FIELDS.length);
  });

  for (const field of FIELDS) {
    test(`${field.name}: refused, or every file keeps its structure`, async () => {
      const baseline = await baselineFor(field);
      await fc.assert(
        fc.asyncProperty(hostileValue(field.benign), (value) => checkField(field, baseline, value)),
        { seed: SEED, numRuns: RUNS, includeErrorInReport: true, examples: (field.examples ?? []).map((e) => [e] as [string]) },
      );
    });
  }
});
