// gen init: a user's environments folder that renders, type-checks with tsc, and is never overwritten.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { packageRoot } from "../../src/paths.js";
import { runBin } from "../support/run-bin.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-init-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

/** A project where `gen` resolves to this checkout, as it does after npm install. */
async function project(name: string): Promise<string> {
  const dir = join(temp, name);
  await mkdir(join(dir, "node_modules"), { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, private: true }));
  await symlink(packageRoot, join(dir, "node_modules", "gen"));
  return dir;
}

function tsc(dir: string): { code: number; out: string } {
  const result = spawnSync(process.execPath, [join(packageRoot, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { encoding: "utf8" });
  return { code: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

test("gen init writes base, prod, sandbox, .gitignore, tsconfig and the JSON Schema, which render and type-check", async () => {
  const dir = await project("fresh");
  const run = runBin(["init"], dir);
  assert.equal(run.code, 0, run.err);
  const env = join(dir, "environments");
  assert.deepEqual((await readdir(env)).sort(), [".gitignore", "base.ts", "environment.schema.json", "prod.ts", "sandbox.ts", "tsconfig.json"]);
  assert.match(await readFile(join(env, ".gitignore"), "utf8"), /^\*\.secrets\.env$/m);
  assert.match(await readFile(join(env, "base.ts"), "utf8"), /extends: "preset:django"/);
  assert.deepEqual(JSON.parse(await readFile(join(env, "environment.schema.json"), "utf8")), JSON.parse(runBin(["schema"], dir).out));
  const checked = tsc(env);
  assert.equal(checked.code, 0, checked.out);
  const sandbox = runBin(["render", "sandbox", "--stdout", "--only", "**/sudoers.d/*"], dir);
  assert.equal(sandbox.code, 0, sandbox.err);
  assert.match(sandbox.out, /Managed by gen from environments\/sandbox\.ts:/);
  // prod needs its secrets, and says where to put them.
  const prod = runBin(["render", "prod"], dir);
  assert.equal(prod.code, 1);
  assert.match(prod.err, /environments\/prod\.secrets\.env/);
});

test("tsc reports a misspelled key in an environment written by gen init", async () => {
  const dir = await project("typo");
  assert.equal(runBin(["init"], dir).code, 0);
  const prod = join(dir, "environments", "prod.ts");
  await writeFile(prod, (await readFile(prod, "utf8")).replace('description: "Production",', 'description: "Production",\n  gunicron: { workers: 2 },'));
  const checked = tsc(join(dir, "environments"));
  assert.notEqual(checked.code, 0);
  assert.match(checked.out, /prod\.ts.*'gunicron' does not exist.*Did you mean to write 'gunicorn'\?/s);
});

test("a YAML environment whose yaml-language-server line names the schema gen init wrote is checked by that schema and rendered", async () => {
  const dir = await project("yaml");
  assert.equal(runBin(["init"], dir).code, 0);
  const env = join(dir, "environments");
  const text = "# yaml-language-server: $schema=./environment.schema.json\nextends: sandbox\ndescription: a YAML sandbox\ngunicorn: { workers: 2 }\n";
  await writeFile(join(env, "yamlbox.yaml"), text);
  const schemaPath = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)![1]!;
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(JSON.parse(await readFile(join(env, schemaPath), "utf8")));
  assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
  assert.equal(validate(parse(text.replace("gunicorn:", "gunicron:"))), false, "a misspelled key is refused by the schema too");
  const render = runBin(["render", "yamlbox", "--stdout", "--only", "**/yaml_gunicorn.service"], dir);
  assert.equal(render.code, 0, render.err);
  assert.match(render.out, /--workers 2 /);
  const typo = join(env, "typo.yaml");
  await writeFile(typo, text.replace("gunicorn:", "gunicron:"));
  const refused = runBin(["render", "typo"], dir);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /environments\/typo\.yaml: gunicron: unknown field \(check its spelling\); did you mean "gunicorn"\?/);
});

test("gen init refuses to overwrite and writes nothing", async () => {
  const dir = await project("again");
  assert.equal(runBin(["init"], dir).code, 0);
  const base = join(dir, "environments", "base.ts");
  await writeFile(base, "// mine\n");
  await rm(join(dir, "environments", "sandbox.ts"));
  const again = runBin(["init"], dir);
  assert.equal(again.code, 1);
  assert.match(again.err, /already holds base\.ts, prod\.ts, \.gitignore, tsconfig\.json, environment\.schema\.json; nothing was written/);
  assert.equal(await readFile(base, "utf8"), "// mine\n");
  await assert.rejects(readFile(join(dir, "environments", "sandbox.ts")));
});

test("gen init DIR outside the environments folder says how to point gen at it", async () => {
  const dir = await project("elsewhere");
  const run = runBin(["init", "deploy"], dir);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /add "gen": \{ "environments": "deploy" \} to/);
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "elsewhere", gen: { environments: "deploy" } }));
  const render = runBin(["render", "sandbox", "--stdout", "--only", "**/sudoers.d/*"], dir);
  assert.equal(render.code, 0, render.err);
  assert.match(render.out, /Managed by gen from deploy\/sandbox\.ts:/);
});

test("gen init makes git ignore out/, .gen-local/ and secrets files, keeping the project's own .gitignore lines", async () => {
  const dir = await project("ignored");
  await writeFile(join(dir, ".gitignore"), "node_modules\n/dist/");
  const git = (...args: string[]) => spawnSync("git", ["-C", dir, ...args], { encoding: "utf8" });
  assert.equal(git("init", "-q").status, 0);
  const run = runBin(["init"], dir);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /^\.gitignore: added \/out\/ and \/\.gen-local\/ /m);
  assert.equal(
    await readFile(join(dir, ".gitignore"), "utf8"),
    "node_modules\n/dist/\n\n# gen: rendered files and sandboxes, which can hold secret values\n/out/\n/.gen-local/\n",
  );
  // What a user then does: render (with the values), the sandbox, a secrets file; then stage everything.
  assert.equal(runBin(["render", "sandbox", "--show-secrets"], dir).code, 0);
  assert.equal(runBin(["apply", "sandbox", "--yes"], dir).code, 0);
  await writeFile(join(dir, "environments", "prod.secrets.env"), "TSOSI_DB_PASSWORD=staged-by-mistake-1\n");
  assert.equal(git("add", "-A").status, 0);
  const staged = git("diff", "--cached", "--name-only").stdout.split("\n").filter(Boolean);
  assert.deepEqual(
    staged.filter((path) => /^(out|\.gen-local)\/|secrets\.env$/.test(path)),
    [],
    `staged: ${staged.join(", ")}`,
  );
  assert.ok(staged.includes("environments/sandbox.ts"), staged.join(", "));
  // Run again on a project whose .gitignore has the lines: nothing is added twice.
  await rm(join(dir, "environments"), { recursive: true });
  const again = runBin(["init"], dir);
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /\.gitignore: added/);
  assert.equal((await readFile(join(dir, ".gitignore"), "utf8")).match(/\/out\//g)?.length, 1);
});
