// An administrator account whose sudo asks for a password (gen-admin with `ALL=(ALL:ALL) ALL`): --sudo-password
// asks once on the terminal (a pseudo-terminal here), without echo, and gen gives the password to `sudo -S` on its
// standard input. Through the bin against the loopback sshd: the files are installed as root, the password is never
// shown; a wrong one is refused with a clear error before anything is changed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { describe, it } from "node:test";
import { genInTerminal } from "../support/in-terminal.js";
import { ADMIN, withPasswordSudo } from "../support/password-sudo.js";
import { ENV_NAME, startGenServer, type GenServer } from "./support/gen-server.js";

const PROMPT = "sudo password of the SSH user";
const SUDOERS = "/etc/sudoers.d/tsosi";
const SETTINGS = "/home/gen-test/config/settings_local.py";

async function withAdminServer(test: (server: GenServer, password: string) => Promise<void>, rule?: string): Promise<void> {
  await withPasswordSudo(async (password) => {
    const server = await startGenServer({ user: ADMIN });
    try {
      await server.writeEnv({ server: { useSudo: true } });
      await test(server, password);
    } finally {
      await server.stop();
    }
  }, rule);
}

describe("gen apply --sudo-password, as an SSH user whose sudo asks for a password", () => {
  it("asks once without echo, and installs the files as root; the password is never shown", () =>
    withAdminServer(async (server, password) => {
      const run = await genInTerminal(server.argv(["apply", ENV_NAME, "--yes", "--sudo-password"]), { cwd: server.tempDir, prompt: PROMPT, answer: password });
      assert.equal(run.exit, 0, run.out);
      assert.equal(run.asked, 1, `asked ${run.asked} times:\n${run.out}`);
      assert.ok(!run.out.includes(password), `the password was shown:\n${run.out}`);
      const installed = await stat(server.file(SUDOERS));
      assert.deepEqual([installed.uid, installed.mode & 0o777], [0, 0o440]);
      assert.ok(existsSync(server.file(SETTINGS)));
      // The same server, compared again through the root session: nothing left to do.
      const diff = await genInTerminal(server.argv(["diff", ENV_NAME, "--sudo-password"]), { cwd: server.tempDir, prompt: PROMPT, answer: password });
      assert.equal(diff.exit, 0, diff.out);
      assert.ok(!diff.out.includes(password));
    }));

  it("a wrong password: a clear error naming the account, nothing changed, the typed text never shown", () =>
    withAdminServer(async (server) => {
      const wrong = "not-the-password-4a7c2e";
      const run = await genInTerminal(server.argv(["apply", ENV_NAME, "--yes", "--sudo-password"]), { cwd: server.tempDir, prompt: PROMPT, answer: wrong });
      assert.equal(run.exit, 1, run.out);
      assert.match(run.out, new RegExp(`sudo refused the password for ${ADMIN}: nothing was run as root`));
      assert.ok(!run.out.includes(wrong), `the typed text was shown:\n${run.out}`);
      for (const path of [SUDOERS, SETTINGS]) assert.equal(existsSync(server.file(path)), false, path);
      assert.deepEqual(await server.recorded(), []);
    }));

  it("with a NOPASSWD rule, the password sudo does not read is never taken for a command: the apply works", () =>
    withAdminServer(async (server, password) => {
      const run = await genInTerminal(server.argv(["apply", ENV_NAME, "--yes", "--sudo-password"]), { cwd: server.tempDir, prompt: PROMPT, answer: password });
      assert.equal(run.exit, 0, run.out);
      assert.ok(!run.out.includes(password), `the password was shown:\n${run.out}`);
      assert.equal((await stat(server.file(SUDOERS))).uid, 0);
    }, "NOPASSWD: ALL"));

  it("without --sudo-password, sudo -n is refused and the message names the option", () =>
    withAdminServer(async (server) => {
      const run = await server.gen(["apply", ENV_NAME, "--yes"]);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /sudo -n refused: .* or --sudo-password to type its password/);
      assert.equal(existsSync(server.file(SUDOERS)), false);
    }));

  it("--sudo-password without a terminal to ask on: an error, no host contacted", () =>
    withAdminServer(async (server) => {
      const run = await server.gen(["apply", ENV_NAME, "--yes", "--sudo-password"]);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /--sudo-password asks for the password on a terminal, and standard input is not one/);
      assert.equal(existsSync(server.file(SUDOERS)), false);
    }));
});
