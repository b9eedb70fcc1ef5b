// The shell apply runs as root starts in `/`, not in the folder sudo was started in (the SSH user's home, which the
// deploy user may fill), so no tool run as root picks up a file left there.
import assert from "node:assert/strict";
import { test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import { serverShell } from "./server-shell.js";

const { transport } = localServer("server-shell");
const withSudo = (useSudo: boolean) => serverShell(transport, { server: { useSudo } } as unknown as Environment);

test("steps and scripts with sudo run in /", async () => {
  const [step] = await withSudo(true).steps([{ name: "where", script: "pwd" }]);
  assert.equal(step!.stdout, "/\n");
  assert.equal((await withSudo(true).script("pwd")).stdout, "/\n");
});

test("without sudo the shell stays where the session started", async () => {
  const [step] = await withSudo(false).steps([{ name: "where", script: "pwd" }]);
  assert.notEqual(step!.stdout, "/\n");
});

test("a script longer than a command line may be (128 KiB) runs: an apply log line of 1500 files, their removal", async () => {
  const long = `: ${"x".repeat(200_000)}\necho ran`;
  const result = await withSudo(false).script(long, "a long script");
  assert.deepEqual([result.exitCode, result.stdout], [0, "ran\n"], result.stderr);
});
