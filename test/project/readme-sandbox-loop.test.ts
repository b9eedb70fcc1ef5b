// The README's sandbox loop, run as it is written there (the lines between its markers, by bash, one after the
// other, stopping at the first that fails), in a fresh project whose node_modules holds gen as a dev dependency
// does, by the unprivileged gen-test user: npx gen finds the package's bin, as in a user's project.
import assert from "node:assert/strict";
import { chownSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { genBin } from "../support/run-bin.js";
import { genTestUser, giveTo, runAs } from "../support/sandbox-loop.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-readme-loop-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

/** The indented lines between `<!-- name: begin -->` and `<!-- name: end -->` in the README, unindented. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(packageRoot, "README.md"), "utf8");
  const block = new RegExp(`<!-- ${name}: begin -->\\n([\\s\\S]*?)<!-- ${name}: end -->`).exec(readme);
  assert.ok(block, `README.md has the markers of ${name}`);
  return block[1]!.replace(/^ {4}/gm, "");
}

test("the README's sandbox loop runs as written: two releases, the status, then a rollback to the first", () => {
  const user = genTestUser(join(temp, "home"));
  const dir = join(temp, "project");
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "my-app", private: true, devDependencies: { gen: "*" } }, null, 2)}\n`);
  symlinkSync(packageRoot, join(dir, "node_modules", "gen"));
  symlinkSync(join("..", "gen", relative(packageRoot, genBin)), join(dir, "node_modules", ".bin", "gen"));
  chownSync(temp, user.uid, user.gid);
  giveTo(user, dir);

  const loop = readmeBlock("sandbox loop");
  const run = runAs(user, ["bash", "-e", "-o", "pipefail", "-c", loop], dir);
  assert.equal(run.code, 0, `the README's loop:\n${loop}\nexit ${run.code}\n${run.out}\n${run.err}`);
  const [first, second] = [...run.out.matchAll(/^local: release (\d{8}T\d{6}Z) is live/gm)].map((m) => m[1]!);
  assert.ok(first && second && first !== second, run.out);
  assert.match(run.out, new RegExp(`^local: release ${second} is live: main [0-9a-f]{12} "a second release"`, "m"));
  assert.match(run.out, new RegExp(`^local: ${second} -> ${first} is live; recorded \\(sandbox, not run\\)`, "m"));
  assert.equal(readlinkSync(join(dir, ".gen-local", "example", "var", "www", "current")), `releases/${first}`);
});
