// The command line as a table of cases run as users run it, the package's bin in a child process: argv, exit
// status, what the output must and must not contain. Temp paths are created per case.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, readdir, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { packageRoot } from "../paths.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { genBin, runGenBin, type GenRun } from "../../test/support/run-gen.js";
import { assertJsonOutput } from "../../test/support/json-output.js";
import { testCacheHome } from "../../test/support/test-cache-home.js";

const execFileAsync = promisify(execFile);

const SECRETS = { TSOSI_DB_PASSWORD: "cli-test-db-password", TSOSI_SECRET_KEY: "cli-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" };
const environments = join(packageRoot, "environments");
const fixtures = join(packageRoot, "test", "fixtures", "environments");
let temp = "";
let listFixture = "";

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}

function gen(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<GenRun> {
  return runGenBin(args, { env, ...(cwd ? { cwd } : {}) });
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
  {
    name: "--help lists every command and the exit statuses",
    argv: () => ["--help"],
    code: 0,
    contains: ["gen render [env]", "gen diff [env]", "gen status [env]", "gen apply [env]", "gen deploy [env]", "gen rollback [env]", "Exit status: 0 success"],
  },
  { name: "an unknown command is wrong usage", argv: () => ["bogus"], code: 2, contains: ['unknown command "bogus"'] },
  { name: "no command is wrong usage", argv: () => [], code: 2, contains: ["name a command"] },
  {
    name: "an unknown option is wrong usage",
    argv: () => ["render", "--nope", "--environments", environments],
    code: 2,
    contains: ["unknown option --nope for gen render"],
  },
  {
    name: "an unknown option of gen diff is wrong usage with 64: its 2 means differences",
    argv: () => ["diff", "example", "--nope", "--environments", environments],
    code: 64,
    contains: ["unknown option --nope for gen diff"],
  },
  { name: "a mistyped command suggests the closest one", argv: () => ["rendr"], code: 2, contains: ['unknown command "rendr"; did you mean render?'] },
  { name: "--version prints the package's version", argv: () => ["--version"], code: 0, contains: [packageVersion()] },
  {
    name: "--only matching no file says so and exits 1",
    argv: () => ["render", "example", "--environments", environments, "--stdout", "--only", "**/nothing-*"],
    code: 1,
    contains: ["--only '**/nothing-*' matches none of the 10 rendered files"],
  },
  {
    name: "diff --only matching no file says so and exits 1",
    argv: () => ["diff", "example", "--environments", environments, "--only", "nothing"],
    code: 1,
    contains: ["matches none of the 10 rendered files"],
  },
  {
    name: "list shows a broken environment with its first problem and exits 1",
    argv: () => ["list", "--environments", fixtures],
    code: 1,
    contains: ["broken-schema BROKEN: ", "loop-a       BROKEN: environments extend each other in a loop", "ipv6         tsosi.u-ga.fr"],
  },
  { name: "list shows only environments", argv: () => ["list", "--environments", listFixture], code: 0, contains: ["one "], absent: ["gen.schema", "secrets"] },
  {
    name: "an unknown environment suggests the closest name",
    argv: () => ["render", "prdo", "--environments", environments],
    code: 2,
    contains: ['unknown environment "prdo"', "Did you mean prod?"],
  },
  {
    name: "an unknown environment of gen diff is wrong usage with 64",
    argv: () => ["diff", "prdo", "--environments", environments],
    code: 64,
    contains: ['unknown environment "prdo"', "Did you mean prod?"],
  },
  {
    name: "gen diff --out with --only is wrong usage with 64",
    argv: () => ["diff", "example", "--environments", environments, "--out", join(temp, "plan.json"), "--only", "x"],
    code: 64,
    contains: ["--out saves a plan of every file; it cannot be combined with --only"],
  },
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
    contains: ['gunicorn.workers: expected a whole number >= 1, got "five"', "gunicorn.wokers: unknown field", "app.name: required", "7 problems"],
    absent: ["    at "],
  },
  {
    name: "render --stdout redacts secrets",
    argv: () => ["render", "prod", "--environments", environments, "--stdout", "--only", "settings_local.py"],
    env: SECRETS,
    code: 0,
    contains: ['SECRET_KEY = "[secret:TSOSI_SECRET_KEY]"', "[secret:TSOSI_DB_PASSWORD]"],
    absent: [SECRETS.TSOSI_DB_PASSWORD, SECRETS.TSOSI_SECRET_KEY],
  },
  {
    name: "render --show-secrets prints them",
    argv: () => ["render", "prod", "--environments", environments, "--stdout", "--only", "settings_local.py", "--show-secrets"],
    env: SECRETS,
    code: 0,
    contains: [SECRETS.TSOSI_SECRET_KEY],
  },
  {
    name: "render --only selects files by glob",
    argv: () => ["render", "example", "--environments", environments, "--stdout", "--only", "**/sudoers.d/*"],
    code: 0,
    contains: ["==> /etc/sudoers.d/tsosi (0440 root:root) <=="],
    absent: ["[Unit]"],
  },
  {
    name: "validate runs the cross-file checks and the real tools",
    argv: () => ["validate", "example", "--environments", environments],
    code: 0,
    contains: [
      "passed   visudo",
      "passed   nginx",
      "passed   systemd-analyze",
      "passed   logrotate",
      "passed   python3 values",
      "0 cross-file problems, 0 tool checks failed, 0 not run",
    ],
  },
  {
    name: "nginx.ipv6 adds [::] listens that nginx -t accepts",
    argv: () => ["validate", "ipv6", "--environments", fixtures],
    env: SECRETS,
    code: 0,
    contains: ["passed   nginx", "0 tool checks failed, 0 not run"],
  },
  {
    name: "nginx.ipv6 renders a [::] listen beside each IPv4 one",
    argv: () => ["render", "ipv6", "--environments", fixtures, "--stdout", "--only", "**/sites-available/*"],
    env: SECRETS,
    code: 0,
    contains: [
      "    listen 80;\n    listen [::]:80;",
      "    listen 443 ssl default_server;\n    listen [::]:443 ssl default_server;",
      "    listen 443 ssl;\n    listen [::]:443 ssl;",
    ],
  },
  {
    name: "list shows every environment",
    argv: () => ["list", "--environments", environments],
    code: 0,
    contains: ["prod", "staging", "example", "tsosi.u-ga.fr"],
  },
  { name: "schema prints a JSON Schema", argv: () => ["schema"], code: 0, contains: ['"$schema"', '"gunicorn"'] },
];

before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-cli-test-"));
  // An environments folder with what editors and users put beside environments.
  listFixture = join(temp, "list-envs");
  await mkdir(listFixture);
  await copyFile(join(fixtures, "prod-as-yaml.yaml"), join(listFixture, "one.yaml"));
  await writeFile(join(listFixture, "gen.schema.json"), "{}");
  await writeFile(join(listFixture, "one.secrets.env"), "A=b\n");
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
    assert.deepEqual(
      (await readdir(temp)).filter((n) => n.includes("staging") || n.includes("previous")),
      [],
      "no staging folders left behind",
    );
  });

  test("render writes the server tree, the manifest, and secret files 0600", async () => {
    const outDir = join(temp, "prod");
    const { code } = await gen(["render", "prod", "--environments", environments, "--out", outDir], SECRETS);
    assert.equal(code, 0);
    const manifest = JSON.parse(await readFile(join(outDir, "manifest.json"), "utf8")) as { files: { path: string }[] };
    assert.equal(manifest.files.length, 10);
    const { statSync } = await import("node:fs");
    assert.equal(statSync(join(outDir, "home/deployer/config/settings_local.py")).mode & 0o777, 0o600);
    assert.equal(statSync(join(outDir, "etc/sudoers.d/tsosi")).mode & 0o077, 0o044 & 0o077);
  });

  test("render replaces the previous output whole, removing links in it and an output folder that is a link as links", async () => {
    const elsewhere = join(temp, "elsewhere");
    await mkdir(join(elsewhere, "deep"), { recursive: true });
    await writeFile(join(elsewhere, "deep", "kept"), "not gen's");
    const replaced = join(temp, "replaced");
    await mkdir(join(replaced, "stray", "nested"), { recursive: true });
    await writeFile(join(replaced, "stray", "nested", "file"), "old");
    await symlink(elsewhere, join(replaced, "stray", "link"));
    const linked = join(temp, "linked");
    await symlink(elsewhere, linked);
    for (const outDir of [replaced, linked]) {
      const { code, err } = await gen(["render", "prod", "--environments", environments, "--out", outDir], SECRETS);
      assert.equal(code, 0, err);
      assert.deepEqual((await readdir(outDir)).sort(), ["etc", "home", "manifest.json"]);
    }
    assert.equal(await readFile(join(elsewhere, "deep", "kept"), "utf8"), "not gen's", "what a link pointed to is kept");
    assert.deepEqual(
      (await readdir(temp)).filter((n) => n.includes("staging") || n.includes("previous")),
      [],
      "no staging or previous folders left behind",
    );
  });

  // Headers name the file each was rendered from; everything else is the same.
  const sourceless = (text: string) => text.replace(/Managed by gen from .+?: edit the environment/g, "Managed by gen from (file): edit the environment");
  for (const name of ["example", "prod", "staging"]) {
    test(`show ${name} --json saved as ${name}.json renders the same files`, async () => {
      const shown = await gen(["show", name, "--environments", environments, "--json"], SECRETS);
      assert.equal(shown.code, 0, shown.err);
      assert.ok(!shown.out.includes(SECRETS.TSOSI_DB_PASSWORD), "show prints secret references, not values");
      const frozen = join(temp, `frozen-${name}`);
      await mkdir(frozen, { recursive: true });
      await writeFile(join(frozen, `${name}.json`), shown.out);
      const original = await gen(["render", name, "--environments", environments, "--stdout", "--show-secrets"], SECRETS);
      const again = await gen(["render", name, "--environments", frozen, "--stdout", "--show-secrets"], SECRETS);
      assert.equal(original.code, 0, original.err);
      assert.equal(again.code, 0, again.err);
      assert.equal(sourceless(again.out), sourceless(original.out));
    });
  }

  test("show prints YAML that loads back as the same environment", async () => {
    const shown = await gen(["show", "prod", "--environments", environments], SECRETS);
    assert.equal(shown.code, 0, shown.err);
    const frozen = join(temp, "frozen-yaml");
    await mkdir(frozen, { recursive: true });
    await writeFile(join(frozen, "prod.yaml"), shown.out);
    const original = await gen(["render", "prod", "--environments", environments, "--stdout", "--show-secrets"], SECRETS);
    const again = await gen(["render", "prod", "--environments", frozen, "--stdout", "--show-secrets"], SECRETS);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /Managed by gen from \S*frozen-yaml\/prod\.yaml:/);
    assert.equal(sourceless(again.out), sourceless(original.out));
  });

  for (const args of [["schema"], ["render", "prod", "--stdout"], ["diff", "example"]]) {
    test(`gen ${args.join(" ")} | head -1 ends quietly`, async () => {
      const project = join(temp, `pipe-${args[0]}`);
      await mkdir(project, { recursive: true });
      const command = `'${process.execPath}' '${genBin}' ${args.join(" ")} --environments '${environments}' | head -1; echo "status \${PIPESTATUS[0]}" >&2`;
      const { stdout, stderr } = await execFileAsync("bash", ["-c", command], {
        cwd: project,
        env: { ...process.env, XDG_CACHE_HOME: testCacheHome(), ...SECRETS },
      });
      assert.equal(stdout.split("\n").filter(Boolean).length, 1, stdout);
      assert.doesNotMatch(stderr, /EPIPE| {4}at |internal error/);
      assert.match(stderr, /status [02]\n/);
    });
  }

  describe("--json output matches the schema shipped for each command", () => {
    const json = async (command: string, args: string[], code: number, cwd?: string) => {
      const run = await gen([...args, "--json"], SECRETS, cwd);
      assert.equal(run.code, code, run.all);
      return assertJsonOutput(command, run.out);
    };
    test("render (written)", async () => {
      const result = await json("render", ["render", "prod", "--environments", environments, "--out", join(temp, "json-render")], 0);
      assert.equal((result.manifest as { files: unknown[] }).files.length, 10);
    });
    test("render --stdout, secrets redacted", async () => {
      const result = await json("render", ["render", "prod", "--environments", environments, "--stdout", "--only", "settings_local.py"], 0);
      assert.match((result.files as { content: string }[])[0]!.content, /\[secret:TSOSI_DB_PASSWORD\]/);
      assert.ok(!JSON.stringify(result).includes(SECRETS.TSOSI_DB_PASSWORD));
    });
    test("validate", async () => {
      const result = await json("validate", ["validate", "example", "--environments", environments, "--no-tools"], 0);
      assert.equal(result.ok, true);
    });
    test("show (itself an environment definition)", async () => {
      const result = await json("show", ["show", "staging", "--environments", environments], 0);
      assert.equal(result.version, 1);
    });
    test("list", async () => {
      const result = await json("list", ["list", "--environments", fixtures], 1);
      assert.ok((result.environments as { problem?: string }[]).some((e) => e.problem));
    });
    test("diff, apply --dry-run and apply on the example's local folder", async () => {
      const project = join(temp, "json-apply");
      await mkdir(project, { recursive: true });
      const diff = await json("diff", ["diff", "example", "--environments", environments], 2, project);
      assert.equal((diff.summary as { create: number }).create, 10);
      const dry = await json("apply", ["apply", "example", "--environments", environments, "--dry-run"], 0, project);
      assert.equal(dry.outcome, "dry-run");
      // The example is a sandbox: owners and service commands are recorded, not applied, so no root is needed.
      const applied = await json("apply", ["apply", "example", "--environments", environments, "--yes"], 0, project);
      assert.equal(applied.outcome, "applied");
    });
    test("errors are JSON on standard output", async () => {
      for (const [args, code] of [
        [["render", "prdo", "--environments", environments], 2],
        [["diff", "prdo", "--environments", environments], 64],
        [["render", "prod", "--environments", environments, "--only", "nothing"], 1],
      ] as const) {
        const run = await runGenBin([...args, "--json"]);
        assert.equal(run.code, code, run.all);
        const error = assertJsonOutput<{ error: { message: string }; exitCode: number }>("error", run.out);
        assert.equal(error.exitCode, code);
      }
      const missing = await runGenBin(["render", "prod", "--environments", environments, "--json"], {
        env: { TSOSI_DB_PASSWORD: undefined, TSOSI_SECRET_KEY: undefined },
      });
      const error = assertJsonOutput<{ error: { message: string; details: string[] } }>("error", missing.out);
      assert.match(error.error.details.join("\n"), /TSOSI_DB_PASSWORD is not set/);
    });
  });

  test("diff against the example's empty local folder lists files to create and exits 2", async () => {
    const project = join(temp, "project");
    await mkdir(project, { recursive: true });
    const { code, out } = await gen(["diff", "example", "--environments", environments, "--stat"], {}, project);
    assert.equal(code, 2, out);
    assert.match(out, /0 to change, 10 to create, 0 unchanged/);
  });
});
