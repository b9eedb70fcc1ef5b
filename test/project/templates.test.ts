// A user's templates folder replaces built-ins by name, on purpose and visibly, and the result is checked the same way.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { runBin } from "../support/run-bin.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-templates-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

const SANDBOX = JSON.stringify({ extends: "preset:example", description: "templates test" });
const LOGROTATE = "# my own logrotate for {{ envName }}\n{{ paths.logs }}/*.log {\n    su deployer deployer\n    daily\n    rotate 9\n    missingok\n}\n";

async function folder(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(temp, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

test("a template in environments/templates replaces the built-in of that name, and render and gen templates say so", async () => {
  const dir = await folder("override", { "environments/box.json": SANDBOX, "environments/templates/logrotate.njk": LOGROTATE });
  const render = runBin(["render", "box"], dir);
  assert.equal(render.code, 0, render.err);
  assert.match(render.out, /built-in templates overridden by your templates folder: logrotate\.njk/);
  const printed = runBin(["render", "box", "--stdout", "--only", "**/logrotate.d/*"], dir);
  assert.match(printed.out, /# my own logrotate for box\n\/var\/log\/tsosi\/\*\.log \{\n {4}su deployer deployer\n {4}daily\n {4}rotate 9/);
  const listed = runBin(["templates"], dir);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, /your templates folder: environments\/templates/);
  assert.match(listed.out, /^ {2}logrotate\.njk +overridden by environments\/templates\/logrotate\.njk$/m);
  assert.match(listed.out, /^ {2}nginx-site\.njk +built-in$/m);
});

test('"gen": { "templates" } in package.json names the folder', async () => {
  const dir = await folder("configured", {
    "package.json": JSON.stringify({ name: "app", gen: { environments: "deploy", templates: "deploy/my-templates" } }),
    "deploy/box.json": SANDBOX,
    "deploy/my-templates/logrotate.njk": LOGROTATE,
  });
  const listed = runBin(["templates", "--json"], dir);
  assert.equal(listed.code, 0, listed.err);
  const rows = JSON.parse(listed.out) as { templates: { name: string; overriddenBy: string | null }[] };
  assert.deepEqual(
    rows.templates.filter((t) => t.overriddenBy).map((t) => t.name),
    ["logrotate.njk"],
  );
});

test("an override goes through the same checks: a broken one fails gen validate with the real tool", async () => {
  const dir = await folder("broken", {
    "environments/box.json": SANDBOX,
    "environments/templates/logrotate.njk": LOGROTATE.replace("daily", "daily\n    rotatte 3"),
  });
  const validate = runBin(["validate", "box"], dir);
  assert.equal(validate.code, 1, validate.out);
  assert.match(validate.out, /FAILED +logrotate: \/etc\/logrotate\.d\/tsosi/);
  assert.match(validate.out, /rotatte/);
});

test("an extra file's template named like a built-in is refused instead of silently rendering gen's", async () => {
  const dir = await folder("clash", {
    "environments/box.json": JSON.stringify({ extends: "preset:example", files: [{ path: "/etc/myapp/site.conf", template: "nginx-site.njk" }] }),
    "environments/nginx-site.njk": "my own site\n",
  });
  const render = runBin(["render", "box"], dir);
  assert.equal(render.code, 1);
  assert.match(render.err, /files\[0\]\.template: "nginx-site\.njk" is the name of a built-in template, which would be used instead of yours/);
});

test("an undefined value in an override is named with the template's path and line, not _header.njk's", async () => {
  const dir = await folder("undefined", {
    "environments/box.json": SANDBOX,
    // The override includes gen's header first, as the built-ins do: nunjucks then blamed the header.
    "environments/templates/logrotate.njk": `{% set comment = "#" %}{% include "_header.njk" %}\n${LOGROTATE}    size {{ logrotate.maxSize }}\n`,
  });
  const render = runBin(["render", "box"], dir);
  assert.equal(render.code, 1, render.err);
  assert.match(render.err, /environments\/templates\/logrotate\.njk, line 9: logrotate\.maxSize is undefined/);
  assert.doesNotMatch(render.err, /_header\.njk|attempted to output/);
});

test("an undefined value in a files entry's own template names the template, the line and the value", async () => {
  const dir = await folder("undefined-extra", {
    "environments/box.json": JSON.stringify({
      extends: "preset:example",
      files: [{ path: "/etc/app/limits.conf", template: "limits.njk", vars: { workers: 4 } }],
    }),
    "environments/limits.njk": "# limits\nworkers = {{ workers }}\ntimeout = {{ timeout }}\n",
  });
  const render = runBin(["render", "box", "--stdout", "--only", "/etc/app/*"], dir);
  assert.equal(render.code, 1, render.err);
  assert.match(render.err, /cannot render \/etc\/app\/limits\.conf from limits\.njk: environments\/limits\.njk, line 3: timeout is undefined/);
});

test("a syntax error in an override names its path and line", async () => {
  const dir = await folder("syntax", {
    "environments/box.json": SANDBOX,
    "environments/templates/logrotate.njk": `${LOGROTATE}{{ paths.logs + }}\n`,
  });
  const render = runBin(["render", "box"], dir);
  assert.equal(render.code, 1, render.err);
  assert.match(render.err, /environments\/templates\/logrotate\.njk, line 8, column 17: unexpected token: \}\}/);
  await rm(join(dir, "environments/templates/logrotate.njk"));
  await writeFile(join(dir, "environments/templates/nginx-site.njk"), "server {\n{% if nginx.tls %}\n  listen 443;\n}\n");
  const unclosed = runBin(["render", "box"], dir);
  assert.equal(unclosed.code, 1, unclosed.err);
  assert.match(unclosed.err, /environments\/templates\/nginx-site\.njk, at the end of the file: expected elif, else, or endif, got end of file/);
});

test("gen's own templates come compiled in the bundle: a render compiles none into the cache folder, and prints what gen run unbundled (which does) prints", async () => {
  const dir = await folder("builtin", { "environments/box.json": SANDBOX });
  const bundledCache = join(temp, "bundled-cache");
  const bundled = runBin(["render", "box", "--stdout"], dir, { XDG_CACHE_HOME: bundledCache });
  assert.equal(bundled.code, 0, bundled.err);
  assert.deepEqual(
    readdirSync(join(bundledCache, "gen")).filter((name) => name.startsWith("templates-")),
    [],
  );
  const unbundledCache = join(temp, "unbundled-cache");
  const unbundled = runBin(["render", "box", "--stdout"], dir, { XDG_CACHE_HOME: unbundledCache }, join(packageRoot, "dist", "src", "cli", "main.js"));
  assert.equal(unbundled.code, 0, unbundled.err);
  assert.equal(bundled.out, unbundled.out);
  assert.equal(readdirSync(join(unbundledCache, "gen")).filter((name) => name.startsWith("templates-")).length, 1);
});
