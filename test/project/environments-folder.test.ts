// Where environments come from: --environments, the "gen" key of the project's package.json, ./environments;
// never the package's own folder. The embedded example is a preset that renders with no environments at all.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runBin } from "../support/run-bin.js";

let temp = "";
const SECRETS = { TSOSI_DB_PASSWORD: "project-test-db-password", TSOSI_SECRET_KEY: "project-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" };

before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-project-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

async function folder(name: string, files: Record<string, string> = {}): Promise<string> {
  const dir = join(temp, name);
  await mkdir(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

// JSON here: the YAML reader has its own tests.
const PROD_JSON = JSON.stringify({ extends: "preset:tsosi", server: { host: "app.example.org" }, app: { domain: "app.example.org" } });

test("without an environments folder, a named environment is refused with exit 1 and points to gen init", async () => {
  const dir = await folder("empty");
  for (const command of [
    ["render", "prod"],
    ["apply", "prod", "--yes"],
    ["diff", "prod"],
  ]) {
    const run = runBin(command, dir);
    assert.equal(run.code, 1, `${command.join(" ")}: ${run.err}`);
    assert.match(run.err, /gen init/);
    assert.doesNotMatch(run.err + run.out, /tsosi\.u-ga\.fr|node_modules|secrets\.env/);
  }
});

test("with no environments folder, gen render renders the embedded example preset", async () => {
  const dir = await folder("fresh");
  const run = runBin(["render"], dir);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /rendered 10 files for example \(preset:example \(shipped with gen\)\) into out\/example\//);
  const sudoers = await readFile(join(dir, "out/example/etc/sudoers.d/tsosi"), "utf8");
  assert.match(sudoers, /^# Managed by gen from preset:example \(shipped with gen\): /);
});

test('package.json "gen": { "environments" } names the folder, and headers name the real file', async () => {
  const dir = await folder("configured", {
    "package.json": JSON.stringify({ name: "app", gen: { environments: "deploy" } }),
    "deploy/prod.json": PROD_JSON,
  });
  const run = runBin(["render", "prod", "--stdout", "--only", "**/sudoers.d/*"], join(dir), SECRETS);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /# Managed by gen from deploy\/prod\.json: edit the environment/);
  // From a subfolder the header is the same: it is relative to the project, not the working folder.
  await mkdir(join(dir, "sub"));
  const again = runBin(["render", "prod", "--stdout", "--only", "**/sudoers.d/*"], join(dir, "sub"), SECRETS);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /# Managed by gen from deploy\/prod\.json: /);
});

test("--environments wins over package.json, which wins over ./environments", async () => {
  const dir = await folder("precedence", {
    "package.json": JSON.stringify({ name: "app", gen: { environments: "deploy" } }),
    "deploy/prod.json": PROD_JSON,
    "environments/prod.json": PROD_JSON.replaceAll("app.example.org", "other.example.org"),
    "elsewhere/prod.json": PROD_JSON.replaceAll("app.example.org", "third.example.org"),
  });
  const show = (args: string[]) => runBin(["show", "prod", "--json", ...args], dir, SECRETS);
  assert.equal(JSON.parse(show([]).out).app.domain, "app.example.org");
  assert.equal(JSON.parse(show(["--environments", "elsewhere"]).out).app.domain, "third.example.org");
  const plain = await folder("plain", { "environments/prod.json": PROD_JSON.replaceAll("app.example.org", "other.example.org") });
  assert.equal(JSON.parse(runBin(["show", "prod", "--json"], plain, SECRETS).out).app.domain, "other.example.org");
});

test("a wrong gen setting in package.json names the file and the field", async () => {
  const dir = await folder("bad-setting", { "package.json": JSON.stringify({ name: "app", gen: { environmnets: "deploy" } }) });
  const run = runBin(["render", "prod"], dir);
  assert.equal(run.code, 1);
  assert.match(run.err, /package\.json: gen\.environmnets: unknown setting; known: environments, templates/);
});

test("an unknown preset lists the ones gen ships", async () => {
  const dir = await folder("bad-preset", { "environments/prod.json": '{ "extends": "preset:tsosy" }' });
  const run = runBin(["render", "prod"], dir);
  assert.equal(run.code, 1);
  assert.match(run.err, /unknown preset "preset:tsosy"; gen ships preset:django, preset:example, preset:tsosi/);
});
