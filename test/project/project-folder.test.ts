// The project as a user has it: gen a dev dependency of their application's repository (node_modules/.bin/gen links
// to the built bin), environments made by gen init, gen run from the project or any folder below it, as git and npm
// are. And the messages of what users got wrong there: a file given as --environments, a missing --identity file,
// a deploy from a checkout with uncommitted changes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { startSilentServer } from "../support/net.js";
import { genBin, runBin } from "../support/run-bin.js";
import { testCacheHome } from "../support/test-cache-home.js";

let temp = "";
before(() => {
  temp = mkdtempSync(join(tmpdir(), "gen-project-folder-"));
});
after(() => rmSync(temp, { recursive: true, force: true }));

/** A project whose package.json has gen as a dev dependency, installed as npm links it (node_modules/.bin/gen). */
function project(name: string): string {
  const dir = join(temp, name);
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, devDependencies: { gen: "file:../gen-0.1.0.tgz" } }));
  symlinkSync(genBin, join(dir, "node_modules", ".bin", "gen"));
  return dir;
}

/** node_modules/.bin/gen run as npx runs it, in `cwd`. */
function npxGen(dir: string, args: string[], cwd = dir): { code: number; out: string; err: string } {
  const result = spawnSync(process.execPath, [join(dir, "node_modules", ".bin", "gen"), ...args], {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      NO_COLOR: "1",
      XDG_CACHE_HOME: testCacheHome(),
      GIT_AUTHOR_NAME: "Ada",
      GIT_AUTHOR_EMAIL: "ada@example.org",
      GIT_COMMITTER_NAME: "Ada",
      GIT_COMMITTER_EMAIL: "ada@example.org",
    },
  });
  return { code: result.status ?? 1, out: result.stdout, err: result.stderr };
}

test("gen list right after gen init lists the environments only, and init's hints say npx gen", () => {
  const dir = project("listed");
  const init = npxGen(dir, ["init"]);
  assert.equal(init.code, 0, init.err);
  const list = npxGen(dir, ["list"]);
  assert.equal(list.code, 0, `${list.out}${list.err}`);
  assert.deepEqual(
    list.out
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split(" ")[0]),
    ["base", "prod", "sandbox", "example"],
  );
  const typo = npxGen(dir, ["render", "sandbx"]);
  assert.equal(typo.code, 2, typo.err);
  assert.match(typo.err, /Known: base, prod, sandbox \(gen list\)/);
  const tsconfig = npxGen(dir, ["render", "tsconfig"]);
  assert.equal(tsconfig.code, 2, tsconfig.err);
  assert.match(tsconfig.err, /"tsconfig" is not an environment name: tsconfig\.json configures a tool/);
  assert.match(init.out, /^next: npx gen render sandbox · npx gen apply sandbox --yes · npm i -D typescript, then npx tsc -p environments /m);
});

test("from a subfolder gen finds the project above it: its environments, its out/ and its sandbox", () => {
  const dir = project("nested");
  assert.equal(npxGen(dir, ["init"]).code, 0);
  const sub = join(dir, "app", "backend");
  mkdirSync(sub, { recursive: true });
  const list = npxGen(dir, ["list"], sub);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^sandbox +local folder/m);
  const render = npxGen(dir, ["render", "sandbox"], sub);
  assert.equal(render.code, 0, render.err);
  assert.match(render.out, /into \.\.\/\.\.\/out\/sandbox\//);
  assert.ok(existsSync(join(dir, "out", "sandbox", "manifest.json")), "rendered into the project's out/");
  assert.equal(existsSync(join(sub, "out")), false);
  const apply = npxGen(dir, ["apply", "sandbox", "--yes"], sub);
  assert.equal(apply.code, 0, apply.err);
  assert.ok(existsSync(join(dir, ".gen-local", "sandbox", "etc")), "the sandbox is the project's .gen-local/sandbox");
  // From another folder of the project, the same sandbox: in sync.
  const diff = npxGen(dir, ["diff", "sandbox"], join(dir, "app"));
  assert.equal(diff.code, 0, `${diff.out}${diff.err}`);
  assert.equal(existsSync(join(sub, ".gen-local")), false);
});

test("--environments naming a file says it names the folder, with the command that was meant", () => {
  const dir = project("file-given");
  assert.equal(npxGen(dir, ["init"]).code, 0);
  for (const args of [["list"], ["render", "prod"]]) {
    const run = npxGen(dir, [...args, "--environments", "environments/prod.ts"]);
    assert.equal(run.code, 1, run.err);
    assert.match(
      run.err,
      /^error: --environments environments\/prod\.ts is a file: it names the folder that holds the environment files \(for this one: gen <command> prod --environments environments\)$/m,
    );
    assert.doesNotMatch(run.err, /internal error/);
  }
});

test("--identity naming a missing file says so before connecting", async () => {
  const server = await startSilentServer();
  try {
    const dir = join(temp, "identity");
    mkdirSync(join(dir, "environments"), { recursive: true });
    writeFileSync(
      join(dir, "environments", "srv.json"),
      JSON.stringify({ extends: "preset:tsosi", server: { host: "127.0.0.1", port: server.port, connectTimeoutSeconds: 2 } }),
    );
    const secrets = { TSOSI_DB_PASSWORD: "identity-test-password", TSOSI_SECRET_KEY: "identity-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" };
    for (const command of [
      ["diff", "srv"],
      ["apply", "srv", "--yes"],
      ["releases", "srv"],
    ]) {
      const run = runBin([...command, "--identity", join(dir, "no-such-key")], dir, secrets);
      assert.equal(run.code, 1, run.err);
      assert.match(run.err, new RegExp(`^error: --identity ${join(dir, "no-such-key")}: no such file; nothing was contacted$`, "m"));
    }
    assert.equal(server.connections(), 0, "the server was not contacted");
  } finally {
    await server.stop();
  }
});

test("deploy refuses a checkout whose backend or front end has uncommitted changes, unless --allow-dirty; --repo defaults to the checkout gen runs in", () => {
  // The application's own repository, with gen's environments in it: the case gen init is for.
  const dir = project("dirty");
  cpSync(join(packageRoot, "sample-app"), dir, { recursive: true });
  mkdirSync(join(dir, "environments"));
  writeFileSync(join(dir, "environments", "box.json"), JSON.stringify({ extends: "preset:example" }));
  writeFileSync(join(dir, ".gitignore"), "/node_modules/\n/out/\n/.gen-local/\nfrontend/dist/\n__pycache__/\n");
  const git = (...args: string[]) => {
    const result = spawnSync("git", ["-c", "user.name=Ada", "-c", "user.email=ada@example.org", "-C", dir, ...args], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
  };
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-qm", "the application, with its environments");
  assert.equal(npxGen(dir, ["apply", "box", "--yes"]).code, 0);

  const source = readdirSync(join(dir, "frontend", "src"))[0]!;
  writeFileSync(join(dir, "frontend", "src", source), "an edit not committed\n");
  writeFileSync(join(dir, "backend", "new_module.py"), "# not committed\n");
  const refused = npxGen(dir, ["deploy", "box", "--yes"]);
  assert.equal(refused.code, 1, `${refused.out}${refused.err}`);
  assert.match(
    refused.err,
    new RegExp(
      `the checkout in ${dir} has uncommitted changes in backend or frontend: backend/new_module\\.py, frontend/src/${source.replace(".", "\\.")}; .*commit them, or pass --allow-dirty`,
    ),
  );
  assert.doesNotMatch(refused.err, /\[2\/\d\]/, "no build ran");
  assert.equal(existsSync(join(dir, ".gen-local", "box", "var", "www", "current")), false, "nothing was released");

  // From a folder of the checkout, without --repo: the checkout it is in.
  const allowed = npxGen(dir, ["deploy", "box", "--yes", "--allow-dirty"], join(dir, "backend"));
  assert.equal(allowed.code, 0, `${allowed.out}${allowed.err}`);
  assert.match(allowed.err, /--allow-dirty: uncommitted changes in backend and frontend are not checked/);
  assert.match(allowed.out, /release \d{8}T\d{6}Z is live/);
});
