// Secrets by construction, as users meet them through the bin: what every output, out/ and an error shows of a
// secret value (nothing, in whatever form it is written), and which secrets a command needs at all.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, cpSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { genBin } from "../support/run-bin.js";
import { runGenBin } from "../support/run-gen.js";
import { assertJsonOutput } from "../support/json-output.js";
import { genTestUser, giveTo, runAs, type Run, type Unprivileged } from "../support/sandbox-loop.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-secrets-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

/** A project folder with the given files (paths relative to it). */
async function project(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(temp, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

const TOKEN = "filter-token-7f3a91";

/** An extra file whose template passes a secret through filters: only the placeholder render may be shown. */
const filtered = {
  "environments/filt.yaml":
    "extends: preset:example\nfiles:\n  - path: /etc/filt/app.conf\n    template: filt.conf.njk\n    vars:\n      token: { secret: FILT_TOKEN }\n",
  "environments/filt.conf.njk": "reversed={{ token | reverse }}\nupper={{ token | upper }}\n",
};

/** The value in every shape a template filter here gives it. */
const filterForms = (value: string) => [value, [...value].reverse().join(""), value.toUpperCase()];

describe("a secret passed through template filters", () => {
  test("render --stdout --json shows the placeholder render, as the human output does", async () => {
    const dir = await project("filters", filtered);
    const env = { FILT_TOKEN: TOKEN };
    const human = await runGenBin(["render", "filt", "--stdout", "--only", "/etc/filt/*"], { cwd: dir, env });
    const json = await runGenBin(["render", "filt", "--stdout", "--json", "--only", "/etc/filt/*"], { cwd: dir, env });
    assert.equal(human.code, 0, human.all);
    assert.equal(json.code, 0, json.all);
    const result = assertJsonOutput<{ files: { content: string }[] }>("render", json.out);
    assert.equal(result.files[0]!.content, "reversed=]NEKOT_TLIF:terces[\nupper=[SECRET:FILT_TOKEN]\n");
    assert.match(human.out, /^reversed=\]NEKOT_TLIF:terces\[$/m);
    for (const form of filterForms(TOKEN)) assert.ok(!json.all.includes(form) && !human.all.includes(form), `${form} shown`);
  });
});

describe("out/", () => {
  const env = { FILT_TOKEN: TOKEN, TSOSI_DB_PASSWORD: "out-db-password-51c2", TSOSI_SECRET_KEY: "out-secret-key-0123456789-abcdefghij" };
  const values = [...filterForms(TOKEN), env.TSOSI_DB_PASSWORD, env.TSOSI_SECRET_KEY];
  const tree = async (dir: string) =>
    new Map(
      await Promise.all(
        (await readdir(dir, { recursive: true, withFileTypes: true }))
          .filter((e) => e.isFile())
          .map(async (e) => [join(e.parentPath, e.name).slice(dir.length), await readFile(join(e.parentPath, e.name), "utf8")] as const),
      ),
    );
  interface Manifest {
    files: { path: string; sha256: string; secret: boolean; placeholders?: true }[];
  }

  test("holds no secret value unless --show-secrets, and its manifest says which files show placeholders", async () => {
    const dir = await project("out", filtered);
    const render = await runGenBin(["render", "filt"], { cwd: dir, env });
    assert.equal(render.code, 0, render.all);
    assert.match(render.out, /; 2 files holding secrets written with \[secret:NAME\] in place of each value \(--show-secrets writes the values\)$/m);
    const written = await tree(join(dir, "out", "filt"));
    for (const [path, content] of written) for (const value of values) assert.ok(!content.includes(value), `${value} in out/filt${path}`);
    assert.match(written.get("/home/deployer/config/settings_local.py")!, /"PASSWORD": "\[secret:TSOSI_DB_PASSWORD\]"/);
    assert.equal(written.get("/etc/filt/app.conf"), "reversed=]NEKOT_TLIF:terces[\nupper=[SECRET:FILT_TOKEN]\n");

    // With --show-secrets the files are those of the server, and the sha256 of the manifest is theirs either way.
    const shown = await runGenBin(["render", "filt", "--show-secrets", "--out", "shown"], { cwd: dir, env });
    assert.equal(shown.code, 0, shown.all);
    const real = await tree(join(dir, "shown"));
    assert.ok(real.get("/home/deployer/config/settings_local.py")!.includes(env.TSOSI_DB_PASSWORD));
    const manifest = JSON.parse(written.get("/manifest.json")!) as Manifest;
    const realManifest = JSON.parse(real.get("/manifest.json")!) as Manifest;
    assert.deepEqual(
      manifest.files
        .filter((f) => f.placeholders)
        .map((f) => f.path)
        .sort(),
      ["/etc/filt/app.conf", "/home/deployer/config/settings_local.py"],
    );
    assert.deepEqual(
      realManifest.files.filter((f) => f.placeholders),
      [],
    );
    for (const file of realManifest.files.filter((f) => real.has(f.path)))
      assert.equal(createHash("sha256").update(real.get(file.path)!).digest("hex"), file.sha256, file.path);
    assert.deepEqual(
      manifest.files.map((f) => f.sha256),
      realManifest.files.map((f) => f.sha256),
    );
    assert.equal((await stat(join(dir, "shown", "home/deployer/config/settings_local.py"))).mode & 0o777, 0o600);
  });
});

describe("a secret that is named and not set", () => {
  // preset:example's postgres.password is secret("TSOSI_DB_PASSWORD", { default: ... }).
  const definitions = {
    yaml: { "environments/renamed.yaml": "extends: preset:example\npostgres:\n  password: { secret: RENAMED_DB_PASSWORD }\n" },
    ts: {
      "environments/renamed.ts":
        'import { defineEnvironment, secret } from "gen";\n\nexport default defineEnvironment({ extends: "preset:example", postgres: { password: secret("RENAMED_DB_PASSWORD") } });\n',
    },
  };
  for (const [kind, files] of Object.entries(definitions)) {
    test(`is an error, also over a base whose secret had a default (${kind})`, async () => {
      const dir = await project(`renamed-${kind}`, files);
      const run = await runGenBin(["render", "renamed", "--stdout"], { cwd: dir, env: { RENAMED_DB_PASSWORD: undefined } });
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /postgres\.password: secret RENAMED_DB_PASSWORD is not set: export RENAMED_DB_PASSWORD=\.\.\. or add it to/);
      assert.ok(!run.out.includes("example-password-not-secret"), "the base's default was rendered");
    });
  }
});

describe("a value written where a secret reference belongs", () => {
  const VALUE = "hunter2-written-in-place";
  const definitions = {
    yaml: { "environments/plain.yaml": `extends: preset:example\npostgres:\n  password: "${VALUE}"\n` },
    ts: {
      "environments/plain.ts": `import { defineEnvironment } from "gen";\n\nexport default defineEnvironment({ extends: "preset:example", django: { settings: { SECRET_KEY: "${VALUE}" } } } as never);\n`,
    },
  };
  for (const [kind, files] of Object.entries(definitions)) {
    test(`is refused without printing it back, naming secret() (${kind})`, async () => {
      const dir = await project(`plain-${kind}`, files);
      const field = kind === "yaml" ? "postgres.password" : "django.settings.SECRET_KEY";
      const human = await runGenBin(["render", "plain", "--stdout"], { cwd: dir });
      const json = await runGenBin(["render", "plain", "--json"], { cwd: dir });
      const list = await runGenBin(["list"], { cwd: dir });
      assert.equal(human.code, 1, human.all);
      assert.match(
        human.err,
        new RegExp(
          `^  environments/plain\\.${kind}: ${field.replaceAll(".", "\\.")}: expected a secret reference, not a value \\(what is written here is not shown\\): write secret\\("NAME"\\)`,
          "m",
        ),
      );
      assert.match(list.out, /plain +BROKEN: .*expected a secret reference, not a value/);
      for (const run of [human, json, list]) assert.ok(!run.all.includes(VALUE), `the value was printed back:\n${run.all}`);
    });
  }
});

/**
 * The embedded example's sandbox with two releases of gen's sample app, made by the unprivileged gen-test user (root
 * reads any file, so what a user cannot read is tried as this one).
 */
async function sandboxWithReleases(): Promise<{ user: Unprivileged; dir: string; gen: (...args: string[]) => Run }> {
  const home = join(temp, "sandbox-home");
  const user = genTestUser(home);
  const dir = join(temp, "sandbox");
  await mkdir(dir);
  chownSync(temp, user.uid, user.gid);
  chownSync(dir, user.uid, user.gid);
  const gen = (...args: string[]) => runAs(user, [process.execPath, genBin, ...args], dir);
  const ok = (run: Run, what: string) => assert.equal(run.code, 0, `${what}: exit ${run.code}\n${run.out}\n${run.err}`);
  ok(gen("apply", "--yes"), "apply");
  const app = join(dir, "app");
  cpSync(join(packageRoot, "sample-app"), app, { recursive: true });
  giveTo(user, app);
  for (const args of [
    ["init", "-q", "-b", "main"],
    ["add", "-A"],
    ["commit", "-q", "-m", "sample app"],
  ])
    ok(runAs(user, ["git", "-C", app, ...args], dir), "git");
  for (let i = 0; i < 2; i++) {
    // Release folders are named by the UTC second.
    const second = new Date().toISOString().slice(0, 19);
    while (new Date().toISOString().slice(0, 19) === second) spawnSync("sleep", ["0.2"]);
    ok(gen("deploy", "--repo", "app", "--yes"), "deploy");
  }
  return { user, dir, gen };
}

describe("the sandbox, as an unprivileged user", () => {
  let sandbox: Awaited<ReturnType<typeof sandboxWithReleases>>;
  before(async () => {
    sandbox = await sandboxWithReleases();
  });

  test("releases and rollback need no secret: a secrets file the user cannot read is not read", async () => {
    // The file exists and is root's alone: a colleague's checkout, a file kept from the deploy user.
    const secretsFile = join(sandbox.dir, "environments", "example.secrets.env");
    await mkdir(join(sandbox.dir, "environments"));
    await writeFile(secretsFile, "TSOSI_DB_PASSWORD=unreadable-db-password\n");
    await chmod(secretsFile, 0o600);
    const releases = sandbox.gen("releases");
    assert.equal(releases.code, 0, releases.err);
    assert.match(releases.out, /^\* \d{8}T\d{6}Z {2}main /m);
    const rollback = sandbox.gen("rollback", "--yes");
    assert.equal(rollback.code, 0, rollback.err);
    assert.match(rollback.out, /is live/);
    // A command that needs the values says which file it could not read, as an error, not an internal one.
    const render = sandbox.gen("render", "--stdout");
    assert.equal(render.code, 1, render.out);
    assert.match(render.err, /^error: cannot read the secrets file environments\/example\.secrets\.env: permission denied; /m);
    assert.doesNotMatch(`${releases.err}${rollback.err}${render.err}`, /EACCES|internal error/);
  });
});
