// `gen render` into a folder that holds a previous render: left as it is when it holds exactly the rendered set,
// else made exactly that set (nothing stale, every mode as written, no link followed), as the bin does it.
import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runBin } from "../support/run-bin.js";

let temp = "";
let project = "";
/** What a render into an empty folder writes: the reference every other case must end as. */
let fresh: Map<string, string>;

before(() => {
  temp = mkdtempSync(join(tmpdir(), "gen-render-out-"));
  project = join(temp, "project");
  mkdirSync(project);
  fresh = tree(render("fresh"));
});
after(() => {
  rmSync(temp, { recursive: true, force: true });
});

/** Renders the embedded example into temp/<name>, returning that folder. */
function render(name: string): string {
  const out = join(temp, name);
  const run = runBin(["render", "--out", out], project);
  assert.equal(run.code, 0, run.err);
  return out;
}

/** Every entry under `dir`, by relative path: its kind, mode, and content or link target (read without following). */
function tree(dir: string, rel = ""): Map<string, string> {
  const entries = new Map<string, string>();
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel === "" ? name : `${rel}/${name}`;
    const full = join(dir, path);
    const stats = lstatSync(full);
    const mode = (stats.mode & 0o7777).toString(8);
    if (stats.isSymbolicLink()) entries.set(path, `link -> ${readlinkSync(full)}`);
    else if (stats.isDirectory()) {
      entries.set(path, `folder ${mode}`);
      for (const [child, what] of tree(dir, path)) entries.set(child, what);
    } else entries.set(path, `file ${mode} ${readFileSync(full, "utf8")}`);
  }
  return entries;
}

/** A rendered file of the example by its server path, and the one holding secrets. */
const SUDOERS = "etc/sudoers.d/tsosi";
const SETTINGS = "home/deployer/config/settings_local.py";

test("a render into a folder that already holds exactly the rendered set leaves every entry as it was", () => {
  const out = render("unchanged");
  const before = new Map([...tree(out).keys()].map((path) => [path, lstatSync(join(out, path))]));
  const rendered = render("unchanged");
  assert.deepEqual(tree(rendered), fresh);
  for (const [path, stats] of before) {
    const now = lstatSync(join(out, path));
    assert.deepEqual([now.ino, now.mtimeMs], [stats.ino, stats.mtimeMs], `${path} was written again`);
  }
});

/** One change each to a previous render: the next render must notice it alone and leave exactly the rendered set. */
const CHANGES: [string, (out: string, outside: string) => void][] = [
  ["a stale file", (out) => writeFileSync(join(out, "etc", "stale.conf"), "left from an older render\n")],
  ["a stale folder", (out) => mkdirSync(join(out, "etc", "stale.d"))],
  ["a file gone", (out) => rmSync(join(out, SUDOERS))],
  ["a file's content", (out) => writeFileSync(join(out, SUDOERS), `${readFileSync(join(out, SUDOERS), "utf8")}# edited by hand\n`)],
  ["the mode of the file holding secrets", (out) => chmodSync(join(out, SETTINGS), 0o644)],
  ["a folder's mode", (out) => chmodSync(join(out, "etc", "nginx"), 0o700)],
  [
    "a link, to the same content outside, in place of a file",
    (out, outside) => {
      writeFileSync(join(outside, "manifest.json"), readFileSync(join(out, "manifest.json")));
      rmSync(join(out, "manifest.json"));
      symlinkSync(join(outside, "manifest.json"), join(out, "manifest.json"));
    },
  ],
  [
    "a link, to a copy outside, in place of a folder",
    (out, outside) => {
      const folder = join(out, "etc", "logrotate.d");
      const copy = join(outside, "logrotate.d");
      mkdirSync(copy);
      for (const name of readdirSync(folder)) writeFileSync(join(copy, name), readFileSync(join(folder, name)));
      rmSync(folder, { recursive: true });
      symlinkSync(copy, folder);
    },
  ],
  [
    "a link's target",
    (out) => {
      const [link] = [...tree(out)].find(([, what]) => what.startsWith("link -> ")) ?? [];
      assert.ok(link !== undefined, "the example renders a link");
      rmSync(join(out, link));
      symlinkSync("/etc/elsewhere", join(out, link));
    },
  ],
];

for (const [i, [change, make]] of CHANGES.entries()) {
  test(`${change} in a previous render: the next render leaves exactly the rendered set, nothing outside touched`, () => {
    const out = render(`changed-${i}`);
    const outside = join(temp, `outside-${i}`);
    mkdirSync(outside);
    make(out, outside);
    assert.notDeepEqual(tree(out), fresh, "the change changed nothing");
    const outsideBefore = tree(outside);
    assert.deepEqual(tree(render(`changed-${i}`)), fresh);
    assert.deepEqual(tree(outside), outsideBefore, "something outside out/ was changed");
  });
}
