// The sandbox as a transport (the real sh and session driver on a temp folder): a serverOnly step is not run, a
// service command is recorded in commands.log instead, in its place in the round trip (a chain that stopped before it
// records nothing), and its answer says it was not run; every other step runs as on the local transport.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createSandboxTransport } from "./sandbox-transport.js";
import { chain, plainStep, runStep, runSteps, SKIPPED, stepSender } from "./typed-steps.js";

const root = mkdtempSync(join(tmpdir(), "gen-sandbox-transport-"));
const AT = new Date("2026-01-02T03:04:05.678Z");
const transport = createSandboxTransport(root, () => AT);
after(async () => {
  await transport.close();
  rmSync(root, { recursive: true, force: true });
});
const on = stepSender(transport, { sudo: true });
const log = () => readFileSync(join(root, ".gen-sandbox/commands.log"), "utf8");

describe("the sandbox transport", () => {
  test("records a service command instead of running it, runs every other step, and says which it did not run", async () => {
    const [ran, restart, check] = await runSteps(on, [
      plainStep({ name: "a file", script: `echo made > ${root}/made` }),
      plainStep({
        name: "restarting app",
        script: `touch ${root}/restarted; echo restarted`,
        stdin: "a secret the service command would have read",
        serverOnly: { record: { argv: ["/usr/bin/systemctl", "restart", "app.service"], why: "apply" } },
      }),
      plainStep({ name: "checking the services", script: `touch ${root}/checked; exit 3`, serverOnly: {} }),
    ]);
    assert.deepEqual([ran.exitCode, ran.notRun, readFileSync(join(root, "made"), "utf8")], [0, false, "made\n"]);
    assert.deepEqual([restart.exitCode, restart.stdout, restart.notRun], [0, "", true]);
    assert.deepEqual([check.exitCode, check.notRun], [0, true]);
    assert.equal(existsSync(join(root, "restarted")), false, "the service command did not run");
    assert.equal(existsSync(join(root, "checked")), false, "the check of the services did not run");
    assert.equal(log(), "2026-01-02T03:04:05.678Z apply: /usr/bin/systemctl restart app.service\n");
  });

  test("a service command chained after a failure is skipped, and not recorded", async () => {
    const before = log();
    const restart = { argv: ["/usr/bin/systemctl", "restart", "x.service"], why: "apply" };
    const [failed, restarted] = await runStep(
      on,
      chain(plainStep({ name: "installing", script: "exit 1" }), plainStep({ name: "restarting", script: ":", serverOnly: { record: restart } })),
    );
    assert.deepEqual([failed.exitCode, restarted], [1, SKIPPED]);
    assert.equal(log(), before);
  });
});
