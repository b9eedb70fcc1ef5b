// Secrets a password manager gives: `{ secret: NAME, command: [...] }` runs the user's tool (here a small `pass` of
// the test's own, on PATH, which logs how it was called) without a shell, and its output is the value. Through the
// bin against the loopback sshd: the value reaches the server and never gen's output or out/; a failing tool is
// an error naming the secret and the program, never what it printed, and nothing is changed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runGenBin, type GenRun } from "../support/run-gen.js";
import { DB_PASSWORD, ENV_NAME, startGenServer, type GenServer } from "./support/gen-server.js";

const SETTINGS = "/home/gen-test/config/settings_local.py";
const VALUE = "from-the-password-manager-5d1c7a9e";
const DECOY = "printed-by-a-failing-tool-3c9e1f";

interface PasswordManager {
  /** Environment for the bin: the tool's folder first on PATH. */
  env: Record<string, string>;
  /** Each call: the folder it ran in and its arguments. */
  calls: () => Promise<string[]>;
  /** ok: prints the value and a newline; fail: prints a decoy and exits 1; empty: prints a newline. */
  behave: (mode: "ok" | "fail" | "empty") => Promise<void>;
}

/** The user's password manager: a `pass` on PATH whose behaviour the test sets. */
async function passwordManager(server: GenServer): Promise<PasswordManager> {
  const bin = join(server.tempDir, "bin");
  const log = join(server.tempDir, "pass.log");
  const mode = join(server.tempDir, "pass.mode");
  await mkdir(bin);
  await writeFile(log, "");
  await writeFile(
    join(bin, "pass"),
    [
      "#!/bin/sh",
      `printf '%s|%s\\n' "$PWD" "$*" >> '${log}'`,
      `case "$(cat '${mode}' 2>/dev/null)" in`,
      `  fail) printf '%s\\n' '${DECOY}'; echo 'Error: prod/django is not in the password store.' >&2; exit 1 ;;`,
      "  empty) printf '\\n' ;;",
      `  *) printf '%s\\n' '${VALUE}' ;;`,
      "esac",
      "",
    ].join("\n"),
  );
  await chmod(join(bin, "pass"), 0o755);
  return {
    env: { PATH: `${bin}:${process.env.PATH}` },
    calls: async () => (await readFile(log, "utf8")).split("\n").filter((line) => line !== ""),
    behave: (m) => writeFile(mode, m),
  };
}

/** SECRET_KEY comes from `pass show prod/django`; only the database password stays in the secrets file. */
async function serverWithCommandSecret(test: (server: GenServer, pass: PasswordManager) => Promise<void>): Promise<void> {
  const server = await startGenServer();
  try {
    const pass = await passwordManager(server);
    await server.writeSecrets({ TEST_DB_PASSWORD: DB_PASSWORD });
    await server.writeEnv({ django: { settings: { SECRET_KEY: { secret: "TEST_SECRET_KEY", command: ["pass", "show", "prod/django"] } } } });
    await test(server, pass);
  } finally {
    await server.stop();
  }
}

/** A command that reaches no server (render, validate): the bin with the environments folder only. */
function offline(server: GenServer, args: string[], env: Record<string, string>): Promise<GenRun> {
  return runGenBin([...args.slice(0, 2), "--environments", server.envDir, ...args.slice(2)], { env });
}

/** Every file under dir, with its content. */
async function contents(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(entries.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), "utf8")));
}

describe("a secret from a password manager's command", () => {
  it("reaches the server's settings through apply, runs once in the environments folder, and is never printed", () =>
    serverWithCommandSecret(async (server, pass) => {
      const apply = await server.gen(["apply", ENV_NAME, "--yes"], { env: pass.env });
      assert.equal(apply.code, 0, apply.all);
      assert.match(await readFile(server.file(SETTINGS), "utf8"), new RegExp(`^SECRET_KEY = "${VALUE}"$`, "m"));
      assert.deepEqual(await pass.calls(), [`${server.envDir}|show prod/django`]);
      // A diff of the same server: in sync, the value neither in its output nor in its JSON.
      const diff = await server.gen(["diff", ENV_NAME], { env: pass.env });
      const json = await server.gen(["diff", ENV_NAME, "--json"], { env: pass.env });
      assert.equal(diff.code, 0, diff.all);
      assert.equal(json.code, 0, json.all);
      for (const run of [apply, diff, json]) assert.ok(!run.all.includes(VALUE), `the value was printed:\n${run.all}`);
    }));

  it("gen render writes placeholders into out/ (the value only with --show-secrets); gen validate does not run the tool", () =>
    serverWithCommandSecret(async (server, pass) => {
      const out = join(server.tempDir, "out");
      const render = await offline(server, ["render", ENV_NAME, "--out", out], pass.env);
      assert.equal(render.code, 0, render.all);
      const files = await contents(out);
      assert.ok(
        files.some((text) => text.includes("[secret:TEST_SECRET_KEY]")),
        "no placeholder in out/",
      );
      assert.ok(!files.some((text) => text.includes(VALUE)), "the value was written into out/");
      assert.ok(!render.all.includes(VALUE));
      assert.equal((await pass.calls()).length, 1);
      const shown = await offline(server, ["render", ENV_NAME, "--out", out, "--show-secrets"], pass.env);
      assert.equal(shown.code, 0, shown.all);
      assert.ok(
        (await contents(out)).some((text) => text.includes(VALUE)),
        "--show-secrets did not write the value",
      );
      // Checking the environment needs no value: the password manager is not asked.
      const validate = await offline(server, ["validate", ENV_NAME, "--no-tools"], pass.env);
      assert.equal(validate.code, 0, validate.all);
      assert.equal((await pass.calls()).length, 2);
    }));

  it("a value set in the process environment wins, and the tool is not run", () =>
    serverWithCommandSecret(async (server, pass) => {
      const value = "set-by-the-operator-81b2f0c4";
      const apply = await server.gen(["apply", ENV_NAME, "--yes"], { env: { ...pass.env, TEST_SECRET_KEY: value } });
      assert.equal(apply.code, 0, apply.all);
      assert.match(await readFile(server.file(SETTINGS), "utf8"), new RegExp(`^SECRET_KEY = "${value}"$`, "m"));
      assert.deepEqual(await pass.calls(), []);
    }));

  for (const [mode, why] of [
    ["fail", "`pass` failed \\(exit 1\\)"],
    ["empty", "`pass` printed nothing"],
  ] as const) {
    it(`a tool that ${mode === "fail" ? "fails" : "prints nothing"}: an error naming the secret and the program, not its output; nothing changed`, () =>
      serverWithCommandSecret(async (server, pass) => {
        await pass.behave(mode);
        const apply = await server.gen(["apply", ENV_NAME, "--yes"], { env: pass.env });
        assert.equal(apply.code, 1, apply.all);
        assert.match(
          apply.err,
          new RegExp(`django\\.settings\\.SECRET_KEY: secret TEST_SECRET_KEY: ${why}; export TEST_SECRET_KEY=\\.\\.\\. to do without it`),
        );
        assert.ok(!apply.all.includes(DECOY), `the tool's output was printed:\n${apply.all}`);
        assert.equal(existsSync(server.file(SETTINGS)), false, "settings written");
        assert.deepEqual(await server.recorded(), []);
        const out = join(server.tempDir, "out");
        const render = await offline(server, ["render", ENV_NAME, "--out", out], pass.env);
        assert.equal(render.code, 1, render.all);
        assert.equal(existsSync(out), false, "out/ written");
        await rm(out, { recursive: true, force: true });
      }));
  }

  it("a program that is not installed: the error says so, naming it", () =>
    serverWithCommandSecret(async (server) => {
      await server.writeEnv({ django: { settings: { SECRET_KEY: { secret: "TEST_SECRET_KEY", command: ["no-such-password-manager", "read", "x"] } } } });
      const run = await server.gen(["diff", ENV_NAME], { env: {} });
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /secret TEST_SECRET_KEY: `no-such-password-manager` could not be started: no such program \(is it installed and on PATH\?\)/);
    }));

  it("a secret with both a command and a default is refused, naming the field", () =>
    serverWithCommandSecret(async (server, pass) => {
      await server.writeEnv({ django: { settings: { SECRET_KEY: { secret: "TEST_SECRET_KEY", command: ["pass", "show", "x"], default: "demo-value-123" } } } });
      const run = await offline(server, ["render", ENV_NAME, "--stdout"], pass.env);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /django\.settings\.SECRET_KEY: give a secret either a command or a default, not both/);
      assert.deepEqual(await pass.calls(), []);
    }));
});
