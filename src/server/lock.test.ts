// The lock's steps as the session sends them: small enough for the session's shell to read itself.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Environment } from "../../schema/index.js";
import { localServer } from "../../test/support/local-server.js";
import { lockSteps } from "./lock.js";
import { serverShell } from "./server-shell.js";

const { transport } = localServer("lock");
const shell = serverShell(transport, { server: { useSudo: false } } as unknown as Environment);

test("each lock step is under the size the session's shell reads itself (4 KB): no head process per lock", () => {
  const holder = { who: "someone@somewhere", command: "apply", since: "2026-12-06T00:00:00.000Z", pid: 12345 };
  const owner = { user: "root", group: "a-long-deploy-group-name" };
  for (const force of [false, true]) {
    for (const step of lockSteps(shell, "/var/lib/gen/an-application-with-a-long-name", holder, force, owner).wire) {
      assert.ok(Buffer.byteLength(step.script) <= 4096, `${step.name}: ${Buffer.byteLength(step.script)} bytes`);
    }
  }
});
