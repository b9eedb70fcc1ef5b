// Secrets by construction, as users meet them through the bin: what every output, out/ and an error shows of a
// secret value (nothing, in whatever form it is written), and which secrets a command needs at all.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runGenBin } from "../support/run-gen.js";
import { assertJsonOutput } from "../support/json-output.js";

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
