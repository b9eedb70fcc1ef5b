// Extra `files` of an environment: a secret in one makes it 0600 and is never shown, whatever filter transformed it;
// a template is read from the environments folder only.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { GenError } from "../errors.js";
import { loadEnvironment } from "../load/load-environment.js";
import { writeRenderedTree } from "../output/write-output.js";
import { packageRoot } from "../paths.js";
import { runGen } from "../../test/support/run-gen.js";
import { renderEnvironment } from "./render-environment.js";

const TOKEN = "Tok3n-value-a1b2c3d4";
const SECRETS = { TSOSI_DB_PASSWORD: "db-password-0123", TSOSI_SECRET_KEY: "secret-key-0123456789", API_TOKEN: TOKEN };
const tempDirs: string[] = [];
after(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gen-extra-files-"));
  tempDirs.push(dir);
  return dir;
}

/** environments/variant.json: prod (YAML fixture) with `files`; templates and secrets beside it. */
function variantDir(files: unknown[], templates: Record<string, string>): string {
  const dir = tempDir();
  copyFileSync(join(packageRoot, "test", "fixtures", "environments", "prod-as-yaml.yaml"), join(dir, "prod-as-yaml.yaml"));
  for (const [name, text] of Object.entries(templates)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, "variant.json"), JSON.stringify({ extends: "prod-as-yaml", files }));
  writeFileSync(
    join(dir, "variant.secrets.env"),
    Object.entries(SECRETS)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  return dir;
}

async function render(dir: string) {
  const loaded = await loadEnvironment("variant", { environmentsDir: dir, processEnv: {} });
  return renderEnvironment({ name: loaded.name, environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: loaded.environmentsDir });
}

const tokenFile = (template: string, extra: Record<string, unknown> = {}) => ({
  path: "/etc/app/token.conf",
  template,
  owner: "www-data",
  group: "adm",
  vars: { token: { secret: "API_TOKEN" } },
  ...extra,
});

/** Every form of the token a filter below could print. */
function transformedTokens(): string[] {
  const reversed = [...TOKEN].reverse().join("");
  return [
    TOKEN,
    reversed,
    TOKEN.toUpperCase(),
    reversed.toUpperCase(),
    TOKEN.toLowerCase(),
    Buffer.from(TOKEN).toString("base64"),
    TOKEN.replace(/-/g, "_"),
    TOKEN.split("").join(","),
    encodeURIComponent(TOKEN),
    TOKEN.slice(0, 12),
  ];
}

describe("extra files holding a secret", () => {
  const FILTERS = [
    "{{ token }}",
    "{{ token | reverse }}",
    "{{ token | upper }}",
    "{{ token | lower }}",
    '{{ token | replace("-", "_") }}',
    "{{ token | reverse | upper }}",
    '{{ token | list | join(",") }}',
    "{{ token | urlencode }}",
    '{{ (token | reverse | string | replace("a", "A") | upper | reverse) }} {{ token | title }} {{ token | truncate(12, true, "") }}',
    "{% for c in token | list %}{{ c }}{% endfor %}",
  ];

  test("get mode 0600 with the entry's owner in the manifest and on disk, however the template uses the secret", async () => {
    const dir = variantDir(
      [
        tokenFile("token.njk"),
        { path: "/etc/app/plain.conf", template: "plain.njk", mode: "0644" },
        { path: "/etc/app/settings-dump.conf", template: "dump.njk", mode: "0640" },
      ],
      { "token.njk": "token {{ token }}\n", "plain.njk": "no secret here\n", "dump.njk": "{% for s in settings %}{{ s.name }}={{ s.literal }}\n{% endfor %}" },
    );
    const result = await render(dir);
    const meta = (path: string) => result.manifest.files.find((f) => f.path === path)!;
    assert.deepEqual([meta("/etc/app/token.conf").mode, meta("/etc/app/token.conf").owner, meta("/etc/app/token.conf").group], ["0600", "www-data", "adm"]);
    assert.equal(meta("/etc/app/token.conf").secret, true);
    assert.equal(meta("/etc/app/settings-dump.conf").mode, "0600");
    assert.equal(meta("/etc/app/plain.conf").mode, "0644");
    const out = join(tempDir(), "out");
    writeRenderedTree(out, result.files, result.manifest);
    assert.equal(statSync(join(out, "etc/app/token.conf")).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, "etc/app/settings-dump.conf")).mode & 0o777, 0o600);
  });

  test("render --stdout prints no secret, also through filters, and prints them with --show-secrets", async () => {
    const files = FILTERS.map((_, i) => tokenFile(`f${i}.njk`, { path: `/etc/app/f${i}.conf` }));
    const dir = variantDir(files, Object.fromEntries(FILTERS.map((f, i) => [`f${i}.njk`, `line ${f}\n`])));
    const run = await runGen(["render", "variant", "--environments", dir, "--stdout", "--only", "/etc/app/*"]);
    assert.equal(run.code, 0, run.all);
    assert.equal(run.out.match(/^==> \/etc\/app\/f\d+\.conf \(0600 www-data:adm\) <==$/gm)?.length, FILTERS.length, run.out);
    for (const form of transformedTokens()) assert.ok(!run.all.includes(form), `${form} printed:\n${run.all}`);
    assert.match(run.out, /^line \[secret:API_TOKEN\]$/m);
    assert.match(run.out, /^line \]NEKOT_IPA:terces\[$/m);
    const shown = await runGen(["render", "variant", "--environments", dir, "--stdout", "--only", "/etc/app/f1.conf", "--show-secrets"]);
    assert.ok(shown.out.includes([...TOKEN].reverse().join("")), shown.out);
  });
});

describe("templates of extra files", () => {
  function outside(): string {
    const dir = tempDir();
    writeFileSync(join(dir, "shadow"), "root:$6$outside-hash-content:19000:0:99999:7:::\n");
    return dir;
  }

  test("a template that is a symbolic link out of the environments folder is refused, naming the entry", async () => {
    const dir = variantDir(
      [
        { path: "/etc/app/a.conf", template: "a.njk" },
        { path: "/etc/app/stolen.conf", template: "stolen.njk" },
      ],
      { "a.njk": "a\n" },
    );
    symlinkSync(join(outside(), "shadow"), join(dir, "stolen.njk"));
    await assert.rejects(render(dir), (error: Error) => {
      assert.match(error.message, /^files\[1\]\.template: stolen\.njk is a symbolic link .*outside/);
      assert.ok(!error.message.includes("outside-hash-content"));
      return true;
    });
    const run = await runGen(["render", "variant", "--environments", dir, "--stdout"]);
    assert.equal(run.code, 1);
    assert.match(run.err, /variant\.json: files\[1\]\.template: stolen\.njk is a symbolic link/);
    assert.ok(!run.all.includes("outside-hash-content"), run.all);
  });

  test("a template under a linked folder, or included from a template, is refused too; a link inside the folder is fine", async () => {
    const dir = variantDir([{ path: "/etc/app/a.conf", template: "linked/shadow" }], {});
    symlinkSync(outside(), join(dir, "linked"));
    await assert.rejects(render(dir), /files\[0\]\.template: linked\/shadow is a symbolic link \(or under one\)/);

    const including = variantDir([{ path: "/etc/app/a.conf", template: "a.njk" }], { "a.njk": '{% include "inc.njk" %}\n' });
    symlinkSync(join(outside(), "shadow"), join(including, "inc.njk"));
    await assert.rejects(
      render(including),
      (error: Error) => !error.message.includes("outside-hash-content") && /inc\.njk is a symbolic link/.test(error.message),
    );

    const inside = variantDir([{ path: "/etc/app/a.conf", template: "alias.njk" }], { "real.njk": "real\n" });
    symlinkSync("real.njk", join(inside, "alias.njk"));
    assert.equal((await render(inside)).files.find((f) => f.path === "/etc/app/a.conf")?.content, "real\n");
  });

  test("a template path with .. is refused, naming the entry", async () => {
    const dir = variantDir([{ path: "/etc/app/a.conf", template: "../shadow" }], {});
    await assert.rejects(render(dir), (error: GenError) => {
      assert.match([error.message, ...error.details].join("\n"), /files\.0\.template: must not contain '\.\.'/);
      return true;
    });
  });
});
