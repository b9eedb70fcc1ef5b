// The shell apply runs as root starts in `/`, not in the folder sudo was started in (the SSH user's home, which the
// deploy user may fill), so no tool run as root picks up a file left there.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Environment } from "../../schema/index.js";
import { createLocalTransport } from "../transport/local.js";
import { serverShell } from "./server-shell.js";

const root = mkdtempSync(join(tmpdir(), "gen-server-shell-"));
const transport = createLocalTransport(root);
after(async () => {
  await transport.close();
  rmSync(root, { recursive: true, force: true });
});
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
