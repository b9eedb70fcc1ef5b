// Shell completion as bash runs it: a bash process sources what `gen completion` prints, finds the function the way
// bash does (the compspec of the command word, else of its last path part), sets COMP_WORDS, COMP_CWORD, COMP_LINE
// and COMP_POINT as bash sets them on <Tab>, calls the function and prints COMPREPLY. A project made by `gen init`
// has gen as a dev dependency (node_modules/.bin/gen links to the built bin); a decoy `gen` on PATH says when it was
// called instead of the gen being completed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { genBin, runBin } from "../support/run-bin.js";
import { testCacheHome } from "../support/test-cache-home.js";

let temp = "";
let project = "";
/** A folder on PATH whose `gen` is the built bin. */
let genOnPath = "";
/** A folder on PATH whose `gen` only says it was called. */
let decoyOnPath = "";
let script = "";
const DECOY = "decoy-gen-was-called";

before(() => {
  temp = mkdtempSync(join(tmpdir(), "gen-completion-"));
  project = join(temp, "project");
  mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
  mkdirSync(join(project, "app", "backend"), { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, devDependencies: { gen: "file:../gen.tgz" } }));
  symlinkSync(genBin, join(project, "node_modules", ".bin", "gen"));
  genOnPath = join(temp, "bin");
  mkdirSync(genOnPath);
  symlinkSync(genBin, join(genOnPath, "gen"));
  decoyOnPath = join(temp, "decoy");
  mkdirSync(decoyOnPath);
  writeFileSync(join(decoyOnPath, "gen"), `#!/bin/sh\necho ${DECOY}\n`);
  chmodSync(join(decoyOnPath, "gen"), 0o755);
  const init = runBin(["init"], project);
  assert.equal(init.code, 0, init.err);
  const printed = runBin(["completion"], project);
  assert.equal(printed.code, 0, printed.err);
  script = join(temp, "gen-completion.bash");
  writeFileSync(script, printed.out);
});
after(() => rmSync(temp, { recursive: true, force: true }));

interface Completed {
  words: string[];
  err: string;
}

/**
 * Completes `words` (the command line split as bash splits it, the last one being the word under the cursor) with
 * `path` first on PATH, in `cwd`.
 */
function complete(words: string[], options: { path: string; cwd?: string; cword?: number }): Completed {
  const cword = options.cword ?? words.length - 1;
  const line = words.join(" ");
  const point = words.slice(0, cword + 1).join(" ").length;
  const driver = `
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=${cword}; COMP_LINE=${quote(line)}; COMP_POINT=${point}
spec=$(complete -p -- "\${COMP_WORDS[0]}" 2>/dev/null || complete -p -- "\${COMP_WORDS[0]##*/}" 2>/dev/null) || exit 3
fn=$(sed -E 's/.* -F ([^ ]+) .*/\\1/' <<< "$spec")
"$fn" "\${COMP_WORDS[0]}" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const result = spawnSync("bash", ["--norc", "--noprofile", "-c", driver, "driver", script, ...words], {
    cwd: options.cwd ?? project,
    encoding: "utf8",
    env: {
      HOME: temp,
      PATH: [options.path, dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
      XDG_CACHE_HOME: testCacheHome(),
      NO_COLOR: "1",
    },
  });
  assert.equal(result.status, 0, `bash found no completion for ${words[0]}: ${result.stderr}`);
  return { words: result.stdout.split("\n").filter((w) => w !== ""), err: result.stderr };
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

const ENVIRONMENTS = ["base", "prod", "sandbox", "example"];

describe("bash completion (gen completion, sourced by bash)", () => {
  test("gen <Tab> offers the commands", () => {
    const done = complete(["gen", ""], { path: genOnPath });
    for (const command of ["render", "diff", "apply", "deploy", "rollback", "completion"]) assert.ok(done.words.includes(command), done.words.join(" "));
    assert.equal(done.err, "");
  });

  test("after a command, the environments of the project: gen diff <Tab>, gen diff p<Tab>, gen check <Tab>", () => {
    assert.deepEqual(complete(["gen", "diff", ""], { path: genOnPath }).words, ENVIRONMENTS);
    assert.deepEqual(complete(["gen", "diff", "p"], { path: genOnPath }).words, ["prod"]);
    assert.deepEqual(complete(["gen", "check", ""], { path: genOnPath }).words, ENVIRONMENTS);
  });

  test("options and their choices after a command, also after an option bash split at '='", () => {
    assert.deepEqual(complete(["gen", "diff", "prod", "--st"], { path: genOnPath }).words, ["--stat"]);
    assert.deepEqual(complete(["gen", "deploy", "prod", "--source", ""], { path: genOnPath }).words, ["clone", "archive"]);
    assert.deepEqual(complete(["gen", "deploy", "--source", "=", "ar"], { path: genOnPath }).words, ["archive"]);
    // A value bash completes itself (a file): nothing from gen, so the script's -o default lists files.
    assert.deepEqual(complete(["gen", "render", "prod", "--out", ""], { path: genOnPath }).words, []);
    assert.deepEqual(complete(["gen", "diff", "prod", ""], { path: genOnPath }).words, []);
  });

  test("a mistyped option before the cursor prints nothing into the terminal", () => {
    const done = complete(["gen", "diff", "--bogus", "--environments", "environments", ""], { path: genOnPath });
    assert.deepEqual(done.words, ENVIRONMENTS);
    assert.equal(done.err, "");
    const asked = runBin(["--get-yargs-completions", "gen", "diff", "--bogus", "--nope=1", ""], project);
    assert.equal(asked.code, 0, asked.err);
    assert.equal(asked.err, "");
  });

  test("only the words up to the cursor count", () => {
    assert.deepEqual(complete(["gen", "diff", "", "--stat"], { path: genOnPath, cword: 2 }).words, ENVIRONMENTS);
  });

  test("from a subfolder of the project, its environments (not tsconfig)", () => {
    const done = complete(["gen", "apply", ""], { path: genOnPath, cwd: join(project, "app", "backend") });
    assert.deepEqual(done.words, ENVIRONMENTS);
  });

  test("node_modules/.bin/gen <Tab> runs that gen, not the gen on PATH", () => {
    const done = complete(["node_modules/.bin/gen", "diff", ""], { path: decoyOnPath });
    assert.deepEqual(done.words, ENVIRONMENTS);
    const upward = complete(["../../node_modules/.bin/gen", "diff", "s"], { path: decoyOnPath, cwd: join(project, "app", "backend") });
    assert.deepEqual(upward.words, ["sandbox"]);
  });

  test("npx gen <Tab> runs the project's gen (a dev dependency), never npx or a gen on PATH", () => {
    assert.deepEqual(complete(["npx", "gen", "diff", ""], { path: decoyOnPath }).words, ENVIRONMENTS);
    assert.deepEqual(complete(["npx", "gen", "ro"], { path: decoyOnPath, cwd: join(project, "app") }).words, ["rollback"]);
    // npx running another package: nothing from gen (bash then completes file names).
    assert.deepEqual(complete(["npx", "tsc", ""], { path: decoyOnPath }).words, []);
  });

  test("gen not on PATH (a dev dependency): the project's node_modules/.bin/gen answers", () => {
    assert.deepEqual(complete(["gen", "rollback", ""], { path: join(temp, "nothing") }).words, ENVIRONMENTS);
  });
});
