import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { PythonValue } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { loadEnvironment, type LoadedEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import type { RenderedFile } from "../types.js";
import { logrotateWord, nginxValue, sudoersWord, systemdArgv, systemdWord } from "./escape.js";
import { pythonLiteral } from "./python-literal.js";
import { pythonString } from "../python-string.js";
import { renderEnvironment, sha256, type RenderResult } from "./render-environment.js";
import { systemdExecArgv } from "../../test/support/systemd-exec.js";

const environmentsDir = join(packageRoot, "environments");
const fixturesDir = join(packageRoot, "test", "fixtures", "environments");
const SECRETS = { TSOSI_DB_PASSWORD: "db-password-0123", TSOSI_SECRET_KEY: "secret-key-0123456789" };
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);

const tempDirs: string[] = [];
after(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gen-render-test-"));
  tempDirs.push(dir);
  return dir;
}

function render(loaded: LoadedEnvironment): RenderResult {
  return renderEnvironment({ name: loaded.name, environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: loaded.environmentsDir });
}

/** prod (as the YAML fixture) with overrides on top, through the real loader; extra files go beside it. */
async function loadVariant(overrides: Record<string, unknown>, files: Record<string, string> = {}, processEnv: NodeJS.ProcessEnv = SECRETS) {
  const dir = tempDir();
  copyFileSync(join(fixturesDir, "prod-as-yaml.yaml"), join(dir, "prod-as-yaml.yaml"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, "variant.json"), JSON.stringify({ extends: "prod-as-yaml", ...overrides }));
  return loadEnvironment("variant", { environmentsDir: dir, processEnv });
}

function fileAt(result: RenderResult, path: string): RenderedFile {
  const file = result.files.find((f) => f.path === path);
  assert.ok(file, `no file at ${path}; files: ${result.files.map((f) => f.path).join(", ")}`);
  return file;
}

/** Python's view of each literal: [value] after ast.literal_eval, or an error. One process for the whole batch. */
function pythonEval(literals: string[]): ({ value: unknown } | { error: string })[] {
  const script = [
    "import ast, json, sys",
    "out = []",
    "for src in json.load(sys.stdin):",
    "    try:",
    "        tree = ast.parse('X = ' + src)",
    "        assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign), 'not a single assignment'",
    "        out.append({'value': ast.literal_eval(tree.body[0].value)})",
    "    except Exception as e:",
    "        out.append({'error': type(e).__name__ + ': ' + str(e)})",
    "json.dump(out, sys.stdout)",
  ].join("\n");
  const run = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(literals), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, `${PYTHON} failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

const noSecrets = () => assert.fail("no secret expected");

function assertPythonRoundTrip(values: PythonValue[]): void {
  const literals = values.map((v) => pythonLiteral(v, noSecrets));
  const results = pythonEval(literals);
  values.forEach((value, i) => {
    const result = results[i]!;
    const expected: unknown = JSON.parse(JSON.stringify(value));
    assert.ok("value" in result, `python refused ${literals[i]} (from ${JSON.stringify(value)}): ${"error" in result ? result.error : ""}`);
    assert.deepEqual(result.value, expected, `literal ${literals[i]}`);
  });
}

const hasCvtsudoers = spawnSync("cvtsudoers", ["-V"]).status === 0;

/** sudo's own parser: the commands a drop-in allows, or its syntax error. */
function sudoersCommands(content: string): { users: string[]; commands: string[] } | { error: string } {
  const file = join(tempDir(), "dropin");
  writeFileSync(file, content);
  const run = spawnSync("cvtsudoers", ["-f", "json", file], { encoding: "utf8" });
  if (run.status !== 0) return { error: run.stderr.trim() };
  type Spec = { User_List: Record<string, string>[]; Cmnd_Specs: { Commands: { command?: string }[] }[] };
  const specs: Spec[] = JSON.parse(run.stdout).User_Specs ?? [];
  return {
    users: specs.flatMap((s) => s.User_List.map((u) => Object.values(u)[0]!)),
    commands: specs.flatMap((s) => s.Cmnd_Specs.flatMap((c) => c.Commands.map((x) => x.command ?? JSON.stringify(x)))),
  };
}

const HOSTILE_WORDS = [
  "plain",
  "a b",
  "  two  spaces ",
  'dq"uote',
  "sq'uote",
  "back\\slash",
  "trailing\\",
  "semi;colon",
  ";",
  "\\;",
  "{brace}",
  "}",
  "%n",
  "%%",
  "100%",
  "$HOME",
  "${HOME}",
  "$$",
  "cost$",
  "#hash",
  "x#y",
  "comma,colon:eq=",
  "!bang",
  "(paren)",
  "café",
  "日本",
  "😀",
  "~tilde",
  "-dash",
  "@at",
];

let prod: LoadedEnvironment;
let prodFiles: RenderResult;
before(async () => {
  prod = await loadEnvironment("prod", { environmentsDir, processEnv: SECRETS });
  prodFiles = render(prod);
});

describe("determinism", () => {
  test("renders the same bytes twice, from the same and from a fresh load", async () => {
    const again = render(prod);
    const fresh = render(await loadEnvironment("prod", { environmentsDir, processEnv: SECRETS }));
    assert.deepEqual(again, prodFiles);
    assert.deepEqual(fresh, prodFiles);
    assert.equal(JSON.stringify(fresh.manifest), JSON.stringify(prodFiles.manifest));
  });

  test("the manifest's sha256 of each file is the sha256 of its content", () => {
    assert.equal(prodFiles.manifest.files.length, prodFiles.files.length);
    for (const file of prodFiles.files) {
      const entry = prodFiles.manifest.files.find((m) => m.path === file.path);
      assert.ok(entry, file.path);
      assert.equal(entry.sha256, createHash("sha256").update(file.content, "utf8").digest("hex"), file.path);
      assert.equal(entry.sha256, sha256(file.content));
      const { content: _content, shown: _shown, ...meta } = file;
      assert.deepEqual({ ...entry, sha256: undefined }, { ...meta, sha256: undefined });
    }
  });

  test("the rendered files hold no clock or host name", () => {
    const text = prodFiles.files.map((f) => f.content).join("\n");
    assert.doesNotMatch(text, /\b20\d\d-\d\d-\d\d\b/);
    if (hostname().length >= 8) assert.ok(!text.includes(hostname()), "no host name of this machine");
  });
});

describe("prod files", () => {
  test("puts every file at its server path with its owner, group and mode", () => {
    const expected = [
      ["/etc/logrotate.d/tsosi", "logrotate", "0644", "root", "root"],
      ["/etc/nginx/sites-available/tsosi-app", "nginx-site", "0644", "root", "root"],
      ["/etc/nginx/sites-enabled/tsosi-app", "symlink", "0777", "root", "root"],
      ["/etc/sudoers.d/tsosi", "sudoers", "0440", "root", "root"],
      ["/etc/systemd/system/tsosi_celery.service", "systemd-unit", "0644", "root", "root"],
      ["/etc/systemd/system/tsosi_celery_beat.service", "systemd-unit", "0644", "root", "root"],
      ["/etc/systemd/system/tsosi_gunicorn.service", "systemd-unit", "0644", "root", "root"],
      ["/etc/systemd/system/tsosi_gunicorn.socket", "systemd-unit", "0644", "root", "root"],
      ["/etc/systemd/system/tsosi_gunicorn_handover.service", "systemd-unit", "0644", "root", "root"],
      ["/home/deployer/config/settings_local.py", "python-settings", "0600", "deployer", "deployer"],
    ];
    const actual = prodFiles.files.map((f) => [f.path, f.kind, f.mode, f.owner, f.group]);
    assert.deepEqual(actual.sort(), expected.sort());
    assert.equal(fileAt(prodFiles, "/etc/nginx/sites-enabled/tsosi-app").linkTarget, "/etc/nginx/sites-available/tsosi-app");
  });

  test("only settings_local.py holds the secret values, and it says so", () => {
    for (const file of prodFiles.files) {
      const holds = Object.values(SECRETS).some((value) => file.content.includes(value));
      assert.equal(holds, file.path.endsWith("/settings_local.py"), file.path);
      assert.equal(file.secret, file.path.endsWith("/settings_local.py"), file.path);
    }
  });

  test("names the services each file feeds", () => {
    const handlers = Object.fromEntries(prodFiles.manifest.files.map((f) => [f.path, f.handlers]));
    assert.deepEqual(handlers["/home/deployer/config/settings_local.py"], {
      reload: [],
      restart: ["tsosi_gunicorn.service", "tsosi_celery.service", "tsosi_celery_beat.service"],
    });
    assert.deepEqual(handlers["/etc/sudoers.d/tsosi"], { reload: [], restart: [] });
    assert.deepEqual(handlers["/etc/logrotate.d/tsosi"], { reload: [], restart: [] });
    assert.deepEqual(handlers["/etc/nginx/sites-available/tsosi-app"], { reload: ["nginx.service"], restart: [] });
    assert.deepEqual(handlers["/etc/systemd/system/tsosi_gunicorn.service"], { reload: [], restart: ["tsosi_gunicorn.service"] });
    assert.deepEqual(handlers["/etc/systemd/system/tsosi_celery.service"], { reload: [], restart: ["tsosi_celery.service"] });
  });

  test("lists the folders to prepare with owner, group and mode", () => {
    const folders = prodFiles.manifest.folders.map(({ path, owner, group, mode }) => ({ path, owner, group, mode }));
    assert.deepEqual(folders, [
      { path: "/var/www", owner: "deployer", group: "www-data", mode: "0755" },
      { path: "/var/www/releases", owner: "deployer", group: "deployer", mode: "0755" },
      { path: "/var/log/tsosi", owner: "deployer", group: "deployer", mode: "0755" },
      { path: "/tsosi_media", owner: "deployer", group: "www-data", mode: "0755" },
      { path: "/home/deployer/config", owner: "root", group: "deployer", mode: "0750" },
      { path: "/home/deployer/tsosi_errors", owner: "deployer", group: "deployer", mode: "0755" },
      { path: "/home/deployer/tsosi_to_ingest", owner: "deployer", group: "deployer", mode: "0755" },
    ]);
  });

  test("the socket unit listens where nginx proxies the API", () => {
    const listen = [...fileAt(prodFiles, "/etc/systemd/system/tsosi_gunicorn.socket").content.matchAll(/^ListenStream=(.*)$/gm)].map((m) => m[1]);
    const proxied = [...fileAt(prodFiles, "/etc/nginx/sites-available/tsosi-app").content.matchAll(/proxy_pass http:\/\/unix:([^;]*);/g)].map((m) => m[1]);
    assert.deepEqual(listen, ["/run/tsosi_gunicorn.sock"]);
    assert.deepEqual(proxied, listen);
  });

  test("the sudoers drop-in allows exactly the release step's commands: systemctl, nothing that takes a path", () => {
    assert.ok(hasCvtsudoers, "cvtsudoers is not installed (Debian package sudo): npm run test:full installs it");
    const parsed = sudoersCommands(fileAt(prodFiles, "/etc/sudoers.d/tsosi").content);
    assert.ok("commands" in parsed, "error" in parsed ? parsed.error : "");
    assert.deepEqual([...new Set(parsed.users)], ["deployer"]);
    const services = ["nginx", "redis-server", "tsosi_gunicorn", "tsosi_celery", "tsosi_celery_beat"];
    const expected = services.flatMap((s) =>
      ["restart", "start", "stop", "status", ...(s === "nginx" ? ["reload"] : [])].map((v) => `/usr/bin/systemctl ${v} ${s}`),
    );
    // Gunicorn's handover unit is only ever started and stopped around a restart of the service.
    const handover = ["start", "stop", "status"].map((v) => `/usr/bin/systemctl ${v} tsosi_gunicorn_handover`);
    assert.deepEqual(parsed.commands, [...expected, ...handover]);
  });

  test("doubles a % in a celery log file path in the units, and systemd reads it back as written", async () => {
    const loaded = await loadVariant({ celery: { logFile: "/var/log/tsosi/worker-%n-%i.log", beat: { logFile: "/var/log/tsosi/beat%h.log" } } });
    const result = render(loaded);
    const worker = fileAt(result, "/etc/systemd/system/tsosi_celery.service").content;
    const beat = fileAt(result, "/etc/systemd/system/tsosi_celery_beat.service").content;
    assert.match(worker, /^ExecStart=.* --logfile=\/var\/log\/tsosi\/worker-%%n-%%i\.log /m);
    assert.match(beat, /^ExecStart=.* --logfile=\/var\/log\/tsosi\/beat%%h\.log /m);
    const argv = systemdExecArgv(worker.match(/^ExecStart=(.*)$/m)![1]!);
    assert.ok(argv.includes("--logfile=/var/log/tsosi/worker-%n-%i.log"), argv.join(" "));
    assert.ok(argv.includes("--pidfile=/run/celery/%n.pid"), argv.join(" "));
  });

  test("gives every file its own path (two services with one name are refused)", async () => {
    let loaded: LoadedEnvironment;
    try {
      loaded = await loadVariant({ celery: { service: "tsosi_gunicorn" } });
    } catch (error) {
      assert.ok(error instanceof GenError, String(error));
      return;
    }
    let result: RenderResult;
    try {
      result = render(loaded);
    } catch {
      return;
    }
    const paths = result.files.map((f) => f.path);
    const twice = paths.filter((p, i) => paths.indexOf(p) !== i);
    assert.deepEqual(twice, [], `files written twice: ${twice.join(", ")}`);
  });

  test("refuses a releases folder of / (pruning would remove what is beside the releases)", async () => {
    let loaded: LoadedEnvironment;
    try {
      loaded = await loadVariant({ paths: { releases: "/" } });
    } catch (error) {
      assert.ok(error instanceof GenError, String(error));
      return;
    }
    render(loaded);
    assert.fail("rendered an environment whose releases folder is /");
  });

  test("writes a django.extra dict that has a key named secret as a plain dict", async () => {
    const loaded = await loadVariant({ django: { extra: { FEATURE: { secret: "not_a_reference", note: "x" } } } });
    const settings = fileAt(render(loaded), "/home/deployer/config/settings_local.py").content;
    assert.match(settings, /^FEATURE = \{"secret": "not_a_reference", "note": "x"\}$/m);
  });

  test("keeps a secret value out of the message when a file that uses it cannot be rendered", async () => {
    const token = "token with spaces 0123";
    const loaded = await loadVariant(
      { files: [{ path: "/etc/nginx/conf.d/token.conf", template: "token.conf.njk", vars: { token: { secret: "API_TOKEN" } } }] },
      { "token.conf.njk": "set $token {{ token | ngx }};\n" },
      { ...SECRETS, API_TOKEN: token },
    );
    assert.throws(
      () => render(loaded),
      (error: Error) => {
        assert.ok(!error.message.includes(token), `the message shows the secret: ${error.message}`);
        return true;
      },
    );
  });
});

describe("python literals", () => {
  test("hostile strings come back from ast.literal_eval unchanged", () => {
    const strings = [
      "",
      'say "hi"',
      "it's",
      `both ' and "`,
      "back\\slash",
      "\\",
      "\\x00",
      "new\nline",
      "cr\rlf\r\n",
      "tab\t",
      "nul\0byte",
      "\x7f\x80\x85\xff",
      "é",
      "日本語",
      "😀 astral",
      "\u2028\u2029",
      "\ud800 lone high",
      "lone low \udfff",
      '"""',
      "'''",
      "\\N{BULLET}",
      "{REPLACE}",
      "%s %(x)s",
      "f'{x}'",
      "#not a comment",
      "\"; import os; os.system('id') #",
    ];
    assertPythonRoundTrip(strings);
    for (const s of strings) {
      const literal = pythonString(s);
      assert.match(literal, /^"[\x20-\x7e]*"$/, `one printable-ASCII line: ${literal}`);
    }
  });

  test("containers, numbers, booleans and None come back unchanged, also when written over several lines", () => {
    const long = Array.from({ length: 12 }, (_, i) => `/var/log/tsosi/file-${i}.log`);
    assertPythonRoundTrip([
      0,
      -1,
      42,
      1.5,
      -0.25,
      1e21,
      1e-7,
      2 ** 53,
      5e-324,
      1.7976931348623157e308,
      true,
      false,
      null,
      [],
      {},
      ["a", 1, null, true],
      { 'k"ey': "v", "back\\": ["x\ny"] },
      long,
      { default: { NAME: "tsosi", LIST: long, NESTED: { deeper: long } } },
    ]);
  });

  test("arbitrary JSON values and binary strings come back unchanged", () => {
    const anyChar = fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)) });
    const values = [
      ...fc.sample(fc.jsonValue(), { seed: SEED, numRuns: 300 }),
      ...fc.sample(fc.string({ unit: "binary" }), { seed: SEED, numRuns: 100 }),
      ...fc.sample(anyChar, { seed: SEED, numRuns: 100 }),
    ] as PythonValue[];
    assertPythonRoundTrip(values);
  });

  test("secret references are written as the secret's value; non-finite numbers are refused", () => {
    assert.equal(
      pythonLiteral({ secret: "X" }, () => 'pa"ss'),
      '"pa\\"ss"',
    );
    assert.throws(() => pythonLiteral(Number.NaN, noSecrets));
    assert.throws(() => pythonLiteral(Number.POSITIVE_INFINITY, noSecrets));
  });
});

describe("escaping", () => {
  test("systemdWord doubles % and $ and quotes odd words", () => {
    assert.equal(systemdWord("/run/celery/%n.pid"), "/run/celery/%%n.pid");
    assert.equal(systemdWord("--logfile=/var/log/tsosi/celery_%n%I.log"), "--logfile=/var/log/tsosi/celery_%%n%%I.log");
    assert.equal(systemdWord("$HOME"), '"$$HOME"');
    assert.equal(systemdWord("a b"), '"a b"');
    assert.equal(systemdWord('a"b'), '"a\\"b"');
    assert.equal(systemdWord("a\\b"), '"a\\\\b"');
    assert.equal(systemdWord(";"), '";"');
    assert.equal(systemdArgv(["/usr/bin/env", "x y", "%h"]), '/usr/bin/env "x y" %%h');
  });

  test("systemdWord refuses control characters", () => {
    for (const word of ["a\nb", "a\rb", "nul\0", "tab\t", "del\x7f", "\x1b[31m"]) {
      assert.throws(() => systemdWord(word), /control character/, JSON.stringify(word));
    }
  });

  test("systemd reads every escaped word back as the original word", () => {
    const words = [...HOSTILE_WORDS, ...fc.sample(fc.string({ unit: "binary", minLength: 1 }), { seed: SEED, numRuns: 200 })];
    for (const word of words) {
      if (/[\u0000-\u001f\u007f]/.test(word)) {
        assert.throws(() => systemdWord(word));
        continue;
      }
      const line = systemdArgv(["/usr/bin/env", word]);
      assert.ok(!line.includes("\n"), line);
      assert.deepEqual(systemdExecArgv(line), ["/usr/bin/env", word], `${JSON.stringify(word)} written as ${line}`);
    }
  });

  test("nginxValue passes safe values and refuses anything that could change the directive", () => {
    for (const ok of ["/var/www/current/public", "tsosi.org", "4G", 1000, "[::1]:8000", "unix:/run/x.sock"]) assert.equal(nginxValue(ok), String(ok));
    for (const bad of ["a;b", "a b", "{", "}", "$host", "a\nb", "#x", "'q'", '"q"', "a\\b", "", "é", "a\0"]) {
      assert.throws(() => nginxValue(bad), /nginx directive/, JSON.stringify(bad));
    }
  });

  test("logrotateWord passes paths and globs and refuses anything else", () => {
    for (const ok of ["/var/log/tsosi/*.log", "/var/log/app?.log", "100k"]) assert.equal(logrotateWord(ok), ok);
    for (const bad of ["/var/log/a b.log", "/x {", "}", "#x", '"x"', "'x'", "a\nb", "", "/x;rm", "a\\b"]) {
      assert.throws(() => logrotateWord(bad), /logrotate/, JSON.stringify(bad));
    }
  });

  test("sudoersWord escapes sudoers syntax and refuses wildcards, comments and control characters", () => {
    assert.equal(sudoersWord("deployer:deployer"), "deployer\\:deployer");
    assert.equal(sudoersWord("a,b=c d"), "a\\,b\\=c\\ d");
    assert.equal(sudoersWord("back\\slash"), "back\\\\slash");
    for (const bad of ["#1000", "x#y", "*", "/usr/bin/?", "[ab]", "a\nb", "nul\0"]) assert.throws(() => sudoersWord(bad), JSON.stringify(bad));
  });

  test("sudo reads every escaped command word back as the original word", () => {
    assert.ok(hasCvtsudoers, "cvtsudoers is not installed (Debian package sudo): npm run test:full installs it");
    const words = [...HOSTILE_WORDS, ...fc.sample(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 8 }), { seed: SEED, numRuns: 100 })];
    const wrong: string[] = [];
    for (const word of new Set(words)) {
      let escaped: string;
      try {
        escaped = sudoersWord(word);
      } catch {
        continue;
      }
      const parsed = sudoersCommands(`deployer ALL=(root) NOPASSWD: /usr/bin/echo ${escaped}\n`);
      const expected = `/usr/bin/echo ${word}`;
      if (!("commands" in parsed)) wrong.push(`${JSON.stringify(word)} -> ${escaped}: ${parsed.error.split("\n")[0]}`);
      else if (parsed.commands.length !== 1 || parsed.commands[0] !== expected)
        wrong.push(`${JSON.stringify(word)} -> ${escaped}: read as ${JSON.stringify(parsed.commands)}`);
    }
    assert.deepEqual(wrong, []);
  });
});
