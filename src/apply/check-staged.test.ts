// The check steps of apply, run for real through the local transport in a temp folder with the real tools (visudo,
// python3, logrotate, systemd-analyze): a bad staged file of each kind is named with the tool's words, under its
// server path; good ones pass; a check guarded by a failed staging step does not run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import type { FileKind } from "../types.js";
import { serverShell } from "../server/server-shell.js";
import { CHECK_TOOLS, checkFailures, checkSteps } from "./check-staged.js";
import { stagedPath, type StagedFile } from "./stage.js";

const { root, transport } = localServer("check-steps");
mkdirSync(join(root, "state"));
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

function staged(files: typeof GOOD, applyId: string): StagedFile[] {
  return Object.values(files).map(([kind, path, content]) => {
    const entry = { path, kind } as PlanEntry;
    const file = { entry, staged: stagedPath(path, applyId) };
    mkdirSync(dirname(join(root, file.staged)), { recursive: true });
    writeFileSync(join(root, file.staged), content, { mode: 0o440 });
    return file;
  });
}

async function failuresOf(files: StagedFile[], applyId: string): Promise<string[]> {
  const { checks, steps } = checkSteps(shell, env, files, applyId);
  return checkFailures(checks, await shell.steps(steps));
}

describe("apply's check steps", () => {
  test("the tools are installed", () => {
    for (const tool of Object.values(CHECK_TOOLS)) {
      assert.equal(spawnSync("sh", ["-c", `command -v ${tool}`]).status, 0, `${tool} is not installed (npm run test:full installs it)`);
    }
  });

  test("good files pass every check", async () => {
    assert.deepEqual(await failuresOf(staged(GOOD, "1"), "1"), []);
  });

  test("a bad file of each kind is named, with the tool's words and its server path", async () => {
    const failures = await failuresOf(staged(BAD, "2"), "2");
    assert.equal(failures.length, 4, failures.join("\n"));
    const [sudoers, settings, logrotate, unit] = failures;
    assert.match(sudoers!, /^visudo rejected \/etc\/sudoers\.d\/app \(exit 1\): .*syntax error/);
    assert.match(settings!, /^python3 rejected \/srv\/config\/settings_local\.py \(exit 1\): .*SyntaxError/);
    assert.doesNotMatch(settings!, /ResourceWarning|Exception ignored/);
    assert.match(logrotate!, /^logrotate rejected \/etc\/logrotate\.d\/app \(exit \d+\): .*unknown option 'weekyl'/);
    assert.match(unit!, /^systemd-analyze rejected \/etc\/systemd\/system\/app\.service \(exit \d+\): .*\/etc\/systemd\/system\/app\.service/);
    assert.doesNotMatch(failures.join("\n"), /\.gen-stage\./, "scratch names are shown as the server paths they stand for");
  });

  test("checks guarded by a failed staging step do not run", async () => {
    const files = staged(BAD, "3");
    const { checks, steps } = checkSteps(shell, env, files, "3");
    const runs = await shell.steps([{ name: "staging", script: "exit 1" }, ...steps]);
    assert.ok(runs.slice(1).every((run) => run.skipped));
    assert.deepEqual(checkFailures(checks, runs.slice(1)), []);
  });
});
