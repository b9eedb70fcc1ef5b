// The checks of apply, run for real through the local transport in a temp folder as apply runs them: the real
// staging program writes the files (and compiles settings with python3), then the check steps run the real tools
// (visudo, logrotate, systemd-analyze): a bad staged file of each kind is named with the tool's words, under its
// server path; good ones pass; a check guarded by a failed staging step does not run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { FileKind, RenderedFile } from "../types.js";
import { serverShell } from "../server/server-shell.js";
import { GenError } from "../errors.js";
import { chain, plainStep, runStep, SKIPPED } from "../transport/typed-steps.js";
import { CHECK_TOOLS, checkCopies, checkSteps, stageAndCheck } from "./check-staged.js";
import { stageStep } from "./stage.js";

const { transport } = localServer("check-steps");
const env = { server: { useSudo: false, stateDir: "/state", systemServices: [] } } as unknown as Environment;
const shell = serverShell(transport, env);

const GOOD: Record<string, [FileKind, string, string]> = {
  sudoers: ["sudoers", "/etc/sudoers.d/app", "deployer ALL=(root) NOPASSWD: /usr/bin/systemctl restart app\n"],
  settings: ["python-settings", "/srv/config/settings_local.py", "DEBUG = False\nALLOWED_HOSTS = ['example.org']\n"],
  logrotate: ["logrotate", "/etc/logrotate.d/app", "/var/log/app/*.log {\n    weekly\n    rotate 5\n    missingok\n}\n"],
  unit: ["systemd-unit", "/etc/systemd/system/app.service", "[Unit]\nDescription=app\n\n[Service]\nExecStart=/bin/true\n"],
};
const BAD: typeof GOOD = {
  sudoers: ["sudoers", "/etc/sudoers.d/app", "deployer ALL=(root NOPASSWD /usr/bin/systemctl\n"],
  settings: ["python-settings", "/srv/config/settings_local.py", "DEBUG = (\n"],
  logrotate: ["logrotate", "/etc/logrotate.d/app", "/var/log/app/*.log {\n    weekyl\n}\n"],
  unit: ["systemd-unit", "/etc/systemd/system/app.service", "[Service]\nExecStart=relative/path\nNoSuchKey=1\n"],
};

const entry = (kind: FileKind, path: string): PlanEntry =>
  ({ path, kind, action: "create", desired: { mode: "0644", owner: "root", group: "root" } }) as unknown as PlanEntry;

/**
 * Stages `files` with the staging program and runs the checks after it, as apply does (one round trip); the
 * failures as apply reports them. `installed`: unchanged managed units (path to content), verified beside the
 * staged ones.
 */
async function failuresOf(files: typeof GOOD, applyId: string, installed: Record<string, string> = {}, on = shell): Promise<string[]> {
  mkdirSync(join(on.transport.root, "state", `incoming-${applyId}`), { recursive: true });
  const all = [...Object.values(files).map(([, path, content]) => [path, content] as const), ...Object.entries(installed)];
  const rendered = new Map(all.map(([path, content]) => [path, { path, content } as RenderedFile]));
  const unchanged = Object.keys(installed).map((path) => entry("systemd-unit", path));
  const entries = Object.values(files).map(([kind, path]) => entry(kind, path));
  const { staged, step } = stageStep(on, "/state", entries, rendered, applyId, (s) => checkCopies(env, s, unchanged, rendered, applyId));
  // As apply chains the install after the checks: the server runs it only when every check passed.
  const install = plainStep({ name: "installing", script: "echo installed" });
  const [outcome, ran] = await runStep(on, chain(stageAndCheck(step, checkSteps(on, env, staged, applyId)), install));
  assert.equal(outcome.failed, undefined, outcome.failed?.message);
  assert.equal(ran === SKIPPED, outcome.rejected.length > 0, `the install ran: ${ran !== SKIPPED}; failures: ${outcome.rejected.join("\n")}`);
  return outcome.rejected;
}

describe("apply's check steps", () => {
  test("the tools are installed", () => {
    for (const tool of Object.values(CHECK_TOOLS)) {
      assert.equal(spawnSync("sh", ["-c", `command -v ${tool}`]).status, 0, `${tool} is not installed (npm run test:full installs it)`);
    }
  });

  test("good files pass every check", async () => {
    assert.deepEqual(await failuresOf(GOOD, "1"), []);
  });

  test("a bad file of each kind is named, with the tool's words and its server path", async () => {
    const failures = await failuresOf(BAD, "2");
    assert.equal(failures.length, 4, failures.join("\n"));
    const [settings, sudoers, logrotate, unit] = failures;
    assert.match(settings!, /^python3 rejected \/srv\/config\/settings_local\.py: +File "\/srv\/config\/settings_local\.py", line 1 \| .*SyntaxError/);
    assert.match(sudoers!, /^visudo rejected \/etc\/sudoers\.d\/app \(exit 1\): .*syntax error/);
    assert.match(logrotate!, /^logrotate rejected \/etc\/logrotate\.d\/app \(exit \d+\): .*unknown option 'weekyl'/);
    assert.match(unit!, /^systemd-analyze rejected \/etc\/systemd\/system\/app\.service \(exit \d+\): .*\/etc\/systemd\/system\/app\.service/);
    assert.doesNotMatch(failures.join("\n"), /\.gen-stage\./, "scratch names are shown as the server paths they stand for");
  });

  test("settings are compiled as python3 -W error compiles them: a warning is a rejection", async () => {
    const warned = await failuresOf({ settings: ["python-settings", "/srv/config/settings_local.py", "PATTERN = '\\d+'\nSTATIC = 1 is 1\n"] }, "3");
    assert.equal(warned.length, 1, warned.join("\n"));
    assert.match(warned[0]!, /^python3 rejected \/srv\/config\/settings_local\.py: .*(SyntaxError|DeprecationWarning|SyntaxWarning)/);
    assert.deepEqual(await failuresOf({ settings: ["python-settings", "/srv/config/settings_local.py", "PATTERN = r'\\d+'\n"] }, "4"), []);
  });

  test("a staged unit is verified beside the unchanged managed units it refers to", async () => {
    const socket = "[Socket]\nListenStream=/run/app.sock\n";
    const unit = "[Unit]\nRequires=app.socket\nAfter=app.socket\n\n[Service]\nExecStart=/bin/true\n";
    const files: typeof GOOD = { unit: ["systemd-unit", "/etc/systemd/system/app.service", unit] };
    assert.deepEqual(await failuresOf(files, "6", { "/etc/systemd/system/app.socket": socket }), []);
    assert.match((await failuresOf(files, "7")).join("\n"), /app\.socket/, "without the installed socket beside it, systemd-analyze names it");
  });

  test("logrotate's complaint about a missing su account is a failure, except where owners are recorded (the sandbox)", async () => {
    const file: typeof GOOD = {
      logrotate: ["logrotate", "/etc/logrotate.d/app", "/var/log/app/*.log {\n    su gen-no-such-user gen-no-such-group\n    weekly\n}\n"],
    };
    assert.match(
      (await failuresOf(file, "10")).join("\n"),
      /^logrotate rejected \/etc\/logrotate\.d\/app \(exit 1\): .*error: .*unknown user 'gen-no-such-user'/,
    );
    const recording = localServer("check-steps-recorded", { GEN_OWNERS: "recorded" });
    assert.deepEqual(await failuresOf(file, "11", {}, serverShell(recording.transport, env)), []);
    const bad: typeof GOOD = {
      logrotate: [
        "logrotate",
        "/etc/logrotate.d/app",
        "/var/log/app/*.log {\n    su gen-no-such-user gen-no-such-group\n    weekly\n}\n/var/log/other/*.log {\n    weekyl\n}\n",
      ],
    };
    assert.match((await failuresOf(bad, "12", {}, serverShell(recording.transport, env))).join("\n"), /unknown option 'weekyl'/);
  });

  test("checks guarded by a failed staging step do not run", async () => {
    const rendered = new Map(Object.values(BAD).map(([, path, content]) => [path, { path, content } as RenderedFile]));
    const { staged } = stageStep(
      shell,
      "/state",
      Object.values(BAD).map(([kind, path]) => entry(kind, path)),
      rendered,
      "8",
    );
    // A check that ran would name its file: none does, and the failed staging is the only failure.
    const failing = {
      name: "staging",
      script: "exit 1",
      parse: () => ({ ok: true as const, value: { failed: new GenError("staging failed"), rejected: [] } }),
    };
    const outcome = await runStep(shell, stageAndCheck(failing, checkSteps(shell, env, staged, "8")));
    assert.deepEqual([outcome.failed?.message, outcome.rejected], ["staging failed", []]);
  });
});
