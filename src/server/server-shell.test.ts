// The shell apply runs as root starts in `/`, not in the folder sudo was started in (the SSH user's home, which the
// deploy user may fill), so no tool run as root picks up a file left there.
import assert from "node:assert/strict";
import { test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import { serverShell } from "./server-shell.js";
import { plainStep, runStep } from "../transport/typed-steps.js";

const { transport } = localServer("server-shell");
const withSudo = (useSudo: boolean) => serverShell(transport, { server: { useSudo } } as unknown as Environment);

const where = { name: "where", script: "pwd" };

test("steps with sudo run in /", async () => {
  assert.equal((await runStep(withSudo(true), plainStep(where))).stdout, "/\n");
});

test("without sudo the shell stays where the session started", async () => {
  assert.notEqual((await runStep(withSudo(false), plainStep(where))).stdout, "/\n");
});

test("a script longer than a command line may be (128 KiB) runs: an apply log line of 1500 files, their removal", async () => {
  const long = `: ${"x".repeat(200_000)}\necho ran`;
  const result = await runStep(withSudo(false), plainStep({ name: "a long script", script: long }));
  assert.deepEqual([result.exitCode, result.stdout], [0, "ran\n"], result.stderr);
});
