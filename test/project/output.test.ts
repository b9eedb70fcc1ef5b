// Everything gen prints goes through one output (src/cli/output.ts), run here through the bin on a sandbox: secret
// values never appear, in whatever form a file, a tool or a server wrote them, in human text, JSON or errors; and text
// from the "server" (the sandbox's folder, which the deploy user writes) cannot drive the terminal.
import assert from "node:assert/strict";
import { cpSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { pythonString } from "../../src/python-string.js";
import { assertJsonOutput } from "../support/json-output.js";
import { runGenBin, type GenRun } from "../support/run-gen.js";

// Each secret holds a double quote, a single quote, a backslash and non-ASCII characters: every escaped form differs.
const SECRETS = {
  TSOSI_DB_PASSWORD: `db"pass'w\u00f6rd\\x-\u20ac1`,
  TSOSI_SECRET_KEY: `key'with"quotes\\and-\u00fcn\u00efcode-0123456789`,
};

const jsonInner = (text: string) => JSON.stringify(text).slice(1, -1);

/** How a value is written by the tools and files around gen; a leak in any of them is a leak. */
function writtenForms(value: string): Record<string, string> {
  return {
    raw: value,
    "gen's Python literal": pythonString(value).slice(1, -1),
    "Python repr": value.replaceAll("\\", "\\\\").replaceAll("'", "\\'"),
    "double-quoted": value.replaceAll("\\", "\\\\").replaceAll('"', '\\"'),
    "shell-quoted": `'${value.replaceAll("'", `'\\''`)}'`.slice(1, -1),
    "JSON, ASCII only": jsonInner(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
  };
}

/** Every form above, and each of them as it reads inside a JSON document. */
const leaks = Object.values(SECRETS).flatMap((value) => Object.values(writtenForms(value)).flatMap((form) => [form, jsonInner(form)]));

function assertNoSecret(run: GenRun, what: string): void {
  for (const form of leaks) assert.ok(!run.out.includes(form) && !run.err.includes(form), `${what} printed ${JSON.stringify(form)}:\n${run.out}\n${run.err}`);
}

const ESC = "\u001b";
/** Raw, these would retitle the terminal, clear it, and reverse the rest of a line. */
const HOSTILE = `${ESC}]0;owned${ESC}\\ ${ESC}[2J \u202eevil`;
const ESCAPED = "\\x1b]0;owned\\x1b\\ \\x1b[2J \\u202eevil";

function assertNothingRaw(run: GenRun, what: string): void {
  // Colours are off (NO_COLOR): nothing gen prints may hold an escape, a C1 control or a bidirectional override.
  assert.doesNotMatch(`${run.out}${run.err}`, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, `${what} printed a control character raw`);
}

let dir = "";
const env = { ...SECRETS, NO_COLOR: "1" };
const gen = (args: string[], raw = true) => runGenBin(args, { cwd: dir, env, raw });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gen-output-"));
  const files: Record<string, string> = {
    // An extra file without secrets, a front-end build that sees the exported secrets, as any command gen runs does.
    "environments/leaky.yaml": [
      "extends: preset:example",
      "server: { localRoot: .gen-local/leaky }",
      "files:",
      "  - path: /etc/leaky/hand.conf",
      "    template: hand.conf.njk",
      "release:",
      "  frontend:",
      '    build: [["sh", "-c", "printf \\"front-end build sees %s\\\\n\\" \\"$TSOSI_DB_PASSWORD\\"; node build.mjs"]]',
      "",
    ].join("\n"),
    // gen's own file, with a control character the user put there.
    "environments/hand.conf.njk": `managed = yes\nbell = \u0007\n`,
    // A release task that fails and prints the settings it was given, as a failing Django check can.
    "environments/failing.yaml":
      'extends: leaky\nrelease:\n  tasks: [["sh", "-c", "grep -h PASSWORD backend_site/settings_local.py; printf \\"key: %s\\\\n\\" \\"$(grep -h SECRET_KEY backend_site/settings_local.py)\\" >&2; exit 3"]]\n',
    // A front-end build that fails as "not found", whose error output gen's error report quotes.
    "environments/unbuilt.yaml":
      'extends: leaky\nrelease:\n  frontend:\n    build: [["sh", "-c", "printf \\"no vite for %s\\\\n\\" \\"$TSOSI_SECRET_KEY\\" >&2; exit 127"]]\n',
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const app = join(dir, "app");
  cpSync(join(packageRoot, "sample-app"), app, { recursive: true });
  for (const args of [
    ["init", "-q", "-b", "main"],
    ["add", "-A"],
    ["-c", "user.name=Ada", "-c", "user.email=ada@example.org", "commit", "-q", "-m", "sample app"],
  ])
    assert.equal(spawnSync("git", ["-C", app, ...args]).status, 0);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("one output for everything gen prints", () => {
  test("a diff shows the server's copy without any form of a secret, and its control characters escaped", async () => {
    assert.equal((await gen(["apply", "leaky", "--yes"])).code, 0);
    const server = join(dir, ".gen-local/leaky");
    // The "server" copy of a file without secrets, hand-edited with them in every shape, and hostile bytes.
    const lines = Object.entries(SECRETS).flatMap(([name, value]) => Object.entries(writtenForms(value)).map(([form, text]) => `${name} ${form} = ${text}`));
    await writeFile(join(server, "etc/leaky/hand.conf"), `managed = yes\n${lines.join("\n")}\ntitle = ${HOSTILE}\n`);
    // A link whose target the deploy user chose.
    const link = join(server, "etc/nginx/sites-enabled/tsosi-app");
    await unlink(link);
    await symlink(`/etc/nginx/${HOSTILE}`, link);
    const diff = await gen(["diff", "leaky"]);
    assert.equal(diff.code, 2, diff.all);
    assertNoSecret(diff, "gen diff");
    assertNothingRaw(diff, "gen diff");
    for (const [name, value] of Object.entries(SECRETS))
      for (const form of Object.keys(writtenForms(value))) assert.ok(diff.out.includes(`-${name} ${form} = [secret:${name}]`), `${name} ${form}:\n${diff.out}`);
    assert.ok(diff.out.includes(`-title = ${ESCAPED}`), diff.out);
    assert.ok(diff.out.includes(`link /etc/nginx/${ESCAPED} -> /etc/nginx/sites-available/tsosi-app`), diff.out);
    // With --json the plan's strings are JSON-escaped, control characters included, and no secret is in them either.
    const json = await gen(["diff", "leaky", "--json"]);
    assertNoSecret(json, "gen diff --json");
    assertNothingRaw(json, "gen diff --json");
    assert.ok(json.out.includes("\\u001b]0;owned\\u001b\\\\ \\u001b[2J \\u202eevil"), json.out);
    assertJsonOutput("diff", json.out);
  });

  test("rendered files are printed as they are: the user asked for gen's own files", async () => {
    const render = await gen(["render", "leaky", "--stdout", "--only", "/etc/leaky/*"]);
    assert.equal(render.code, 0, render.all);
    assert.ok(render.out.includes("bell = \u0007"), render.out);
  });

  test("what the commands of a release print shows no secret they were given", async () => {
    const deployed = await gen(["deploy", "leaky", "--repo", "app", "--yes"]);
    assert.equal(deployed.code, 0, deployed.all);
    assert.ok(deployed.err.includes("front-end build sees [secret:TSOSI_DB_PASSWORD]"), deployed.err);
    assertNoSecret(deployed, "gen deploy");
  });

  test("a failed release's JSON shows no secret, whatever quoting the tool that printed it used", async () => {
    const failed = await gen(["deploy", "failing", "--repo", "app", "--yes", "--json"]);
    assert.equal(failed.code, 1, failed.all);
    const result = assertJsonOutput<{ hosts: { errorDetails?: string[] }[] }>("deploy", failed.out);
    const details = result.hosts[0]!.errorDetails!.join("\n");
    assert.match(details, /"PASSWORD": "\[secret:TSOSI_DB_PASSWORD\]"/);
    assert.match(details, /key: SECRET_KEY = "\[secret:TSOSI_SECRET_KEY\]"/);
    assertNoSecret(failed, "gen deploy --json");
  });

  test("gen's own error report redacts what it quotes, as text and as JSON", async () => {
    for (const args of [[], ["--json"], ["--debug"]]) {
      const run = await gen(["deploy", "unbuilt", "--repo", "app", "--yes", ...args]);
      assert.equal(run.code, 1, run.all);
      assert.ok(run.all.includes("no vite for [secret:TSOSI_SECRET_KEY]"), run.all);
      assertNoSecret(run, `gen deploy ${args.join(" ")}`);
    }
  });

  test("gen releases shows what the deploy user wrote into deployment.json escaped, as text and in JSON", async () => {
    const releases = join(dir, ".gen-local/leaky/var/www/releases");
    const id = readdirSync(releases).find((name) => /^\d{8}T\d{6}Z$/.test(name))!;
    const file = join(releases, id, "public", "deployment.json");
    const deployment = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...deployment, title: `fix ${HOSTILE}`, branch: `main\u009b2J` }));
    const human = await gen(["releases", "leaky"]);
    assert.equal(human.code, 0, human.all);
    assertNothingRaw(human, "gen releases");
    assert.ok(human.out.includes(`fix ${ESCAPED}`), human.out);
    assert.ok(human.out.includes("main\\x9b2J"), human.out);
    const json = await gen(["releases", "leaky", "--json"]);
    assertNothingRaw(json, "gen releases --json");
    const parsed = assertJsonOutput<{ hosts: { releases: { deployment?: { title: string; branch: string } }[] }[] }>("releases", json.out);
    // The same document: a reader gets the title back as it was written.
    assert.ok(parsed.hosts[0]!.releases.some((r) => r.deployment?.title === `fix ${HOSTILE}` && r.deployment.branch === "main\u009b2J"));
  });
});
