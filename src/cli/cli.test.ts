// The command line as a table of cases run through the real yargs parser: argv, exit status, what the output
// must and must not contain. Temp paths are created per case.
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { packageRoot } from "../paths.js";
import { runGen, type GenRun } from "../../test/support/run-gen.js";

const SECRETS = { TSOSI_DB_PASSWORD: "cli-test-db-password", TSOSI_SECRET_KEY: "cli-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" };
const environments = join(packageRoot, "environments");
const fixtures = join(packageRoot, "test", "fixtures", "environments");
let temp = "";

async function gen(args: string[], env: Record<string, string> = {}): Promise<GenRun> {
  const added = Object.keys(env).filter((key) => !(key in process.env));
  Object.assign(process.env, env);
  try {
    return await runGen(args);
  } finally {
    for (const key of added) delete process.env[key];
  }
}

interface Case {
  name: string;
  argv: () => string[];
  env?: Record<string, string>;
  code: number;
  contains?: string[];
  absent?: string[];
}

const cases: Case[] = [
  { name: "--help lists every command and the exit statuses", argv: () => ["--help"], code: 0, contains: ["gen render [env]", "gen diff [env]", "gen apply [env]", "gen deploy [env]", "gen rollback [env]", "Exit status: 0 success"] },
  { name: "an unknown command is wrong usage", argv: () => ["bogus"], code: 2, contains: ["Unknown argument: bogus"] },
  { name: "no command is wrong usage", argv: () => [], code: 2, contains: ["name a command"] },
  { name: "an unknown option is wrong usage", argv: () => ["render", "--nope", "--environments", environments], code: 2, contains: ["Unknown argument"] },
  { name: "an unknown environment suggests the closest name", argv: () => ["render", "prdo", "--environments", environments], code: 2, contains: ["unknown environment \"prdo\"", "Did you mean prod?"] },
  {
    name: "missing secrets are all named, with no stack trace",
    argv: () => ["render", "prod", "--environments", environments, "--out", join(temp, "missing")],
    code: 1,
    contains: ["postgres.password: secret TSOSI_DB_PASSWORD is not set", "django.settings.SECRET_KEY: secret TSOSI_SECRET_KEY is not set", "prod.secrets.env"],
    absent: ["    at ", "internal error"],
  },
  {
    name: "every schema problem is reported at once, one line each",
    argv: () => ["render", "broken-schema", "--environments", fixtures, "--out", join(temp, "broken")],
    code: 1,
    contains: ["gunicorn.workers: expected a whole number >= 1, got \"five\"", "gunicorn.wokers: unknown field", "postgres.user: required", "7 problems"],
    absent: ["    at "],
  },
  { name: "render --stdout redacts secrets", argv: () => ["render", "prod", "--environments", environments, "--stdout", "--only", "settings_local.py"], env: SECRETS, code: 0, contains: ["SECRET_KEY = \"[secret:TSOSI_SECRET_KEY]\"", "[secret:TSOSI_DB_PASSWORD]"], absent: [SECRETS.TSOSI_DB_PASSWORD, SECRETS.TSOSI_SECRET_KEY] },
  { name: "render --show-secrets prints them", argv: () => ["render", "prod", "--environments", environments, "--stdout", "--only", "settings_local.py", "--show-secrets"], env: SECRETS, code: 0, contains: [SECRETS.TSOSI_SECRET_KEY] },
  { name: "render --only selects files by glob", argv: () => ["render", "example", "--environments", environments, "--stdout", "--only", "**/sudoers.d/*"], code: 0, contains: ["==> /etc/sudoers.d/tsosi (0440 root:root) <=="], absent: ["[Unit]"] },
  { name: "validate runs the cross-file checks and the real tools", argv: () => ["validate", "example", "--environments", environments], code: 0, contains: ["passed   visudo", "passed   nginx", "passed   systemd-analyze", "passed   logrotate", "passed   python3 values", "0 cross-file problems, 0 tool checks failed, 0 not run"] },
  { name: "nginx.ipv6 adds [::] listens that nginx -t accepts", argv: () => ["validate", "ipv6", "--environments", fixtures], env: SECRETS, code: 0, contains: ["passed   nginx", "0 tool checks failed, 0 not run"] },
  { name: "nginx.ipv6 renders a [::] listen beside each IPv4 one", argv: () => ["render", "ipv6", "--environments", fixtures, "--stdout", "--only", "**/sites-available/*"], env: SECRETS, code: 0, contains: ["    listen 80;\n    listen [::]:80;", "    listen 443 ssl default_server;\n    listen [::]:443 ssl default_server;", "    listen 443 ssl;\n    listen [::]:443 ssl;"] },
  { name: "list shows every environment", argv: () => ["list", "--environments", environments], code: 0, contains: ["prod", "staging", "example", "tsosi.u-ga.fr"] },
  { name: "schema prints a JSON Schema", argv: () => ["schema"], code: 0, contains: ["\"$schema\"", "\"gunicorn\""] },
];

before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-cli-test-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

describe("gen command line", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const { code, out, err } = await gen(c.argv(), c.env);
      const all = `${out}\n${err}`;
      assert.equal(code, c.code, `exit status; output:\n${all}`);
      for (const text of c.contains ?? []) assert.ok(all.includes(text), `expected ${JSON.stringify(text)} in:\n${all}`);
      for (const text of c.absent ?? []) assert.ok(!all.includes(text), `did not expect ${JSON.stringify(text)} in:\n${all}`);
    });
  }

  test("a failed render leaves the previous output folder untouched", async () => {
    const outDir = join(temp, "keep");
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, "marker"), "previous");
    const { code } = await gen(["render", "broken-schema", "--environments", fixtures, "--out", outDir]);
    assert.equal(code, 1);
    assert.deepEqual(await readdir(outDir), ["marker"]);
    assert.deepEqual((await readdir(temp)).filter((n) => n.includes("staging") || n.includes("previous")), [], "no staging folders left behind");
  });

  test("render writes the server tree, the manifest, and secret files 0600", async () => {
    const outDir = join(temp, "prod");
    const { code } = await gen(["render", "prod", "--environments", environments, "--out", outDir], SECRETS);
    assert.equal(code, 0);
    const manifest = JSON.parse(await readFile(join(outDir, "manifest.json"), "utf8")) as { files: { path: string }[] };
    assert.equal(manifest.files.length, 9);
    const { statSync } = await import("node:fs");
    assert.equal(statSync(join(outDir, "home/deployer/config/settings_local.py")).mode & 0o777, 0o600);
    assert.equal(statSync(join(outDir, "etc/sudoers.d/tsosi")).mode & 0o077, 0o044 & 0o077);
  });

  test("show --json saved as an environment renders the same files", async () => {
    const shown = await gen(["show", "prod", "--environments", environments, "--json"], SECRETS);
    assert.equal(shown.code, 0);
    assert.ok(!shown.out.includes(SECRETS.TSOSI_DB_PASSWORD), "show prints secret references, not values");
    const frozen = join(temp, "frozen");
    await mkdir(frozen, { recursive: true });
    await writeFile(join(frozen, "prod.json"), shown.out);
    const original = await gen(["render", "prod", "--environments", environments, "--stdout", "--show-secrets"], SECRETS);
    const again = await gen(["render", "prod", "--environments", frozen, "--stdout", "--show-secrets"], SECRETS);
    assert.equal(again.code, 0, again.err);
    // Only the header differs: it names the file each was rendered from.
    const sourceless = (text: string) => text.replace(/Managed by gen from \S+:/g, "Managed by gen from (file):");
    assert.match(again.out, /Managed by gen from \S*frozen\/prod\.json:/);
    assert.equal(sourceless(again.out), sourceless(original.out));
  });

  test("diff against the example's empty local folder lists files to create and exits 2", async () => {
    const project = join(temp, "project");
    await mkdir(project, { recursive: true });
    const cwd = process.cwd();
    process.chdir(project);
    try {
      const { code, out } = await gen(["diff", "example", "--environments", environments, "--stat"]);
      assert.equal(code, 2, out);
      assert.match(out, /0 to change, 9 to create, 0 unchanged/);
    } finally {
      process.chdir(cwd);
    }
  });
});
