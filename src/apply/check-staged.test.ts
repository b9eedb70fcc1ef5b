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
import type { FileKind, RenderedFile } from "../types.js";
import { serverShell } from "../server/server-shell.js";
import { CHECK_TOOLS, checkCopies, checkFailures, checkSteps } from "./check-staged.js";
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

/** Writes the staged files, and the copies the unit check reads, as the staging step would. */
function staged(files: typeof GOOD, applyId: string): StagedFile[] {
  return stagedWith(files, applyId, {});
}

/** `installed`: unchanged managed files (path to content), copied beside the staged units for their check. */
function stagedWith(files: typeof GOOD, applyId: string, installed: Record<string, string>): StagedFile[] {
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content, { mode: 0o440 });
  };
  const all = [...Object.values(files).map(([, path, content]) => [path, content] as const), ...Object.entries(installed)];
  const rendered = new Map(all.map(([path, content]) => [path, { path, content } as RenderedFile]));
  const unchanged = Object.keys(installed).map((path) => ({ path, kind: "systemd-unit", desired: { owner: "root", group: "root" } }) as PlanEntry);
  const stagedFiles = Object.values(files).map(([kind, path, content]) => {
    const entry = { path, kind, desired: { owner: "root", group: "root" } } as PlanEntry;
    const file = { entry, staged: stagedPath(path, applyId) };
    write(file.staged, content);
    return file;
  });
  for (const copy of checkCopies(env, stagedFiles, unchanged, rendered, applyId)) write(copy.path, copy.content!);
  return stagedFiles;
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

  test("a staged unit is verified beside the unchanged managed units it refers to", async () => {
    const socket = "[Socket]\nListenStream=/run/app.sock\n";
    const unit = "[Unit]\nRequires=app.socket\nAfter=app.socket\n\n[Service]\nExecStart=/bin/true\n";
    const files = stagedWith({ unit: ["systemd-unit", "/etc/systemd/system/app.service", unit] }, "6", {
      "/etc/systemd/system/app.socket": socket,
    });
    assert.deepEqual(await failuresOf(files, "6"), []);
    const alone = stagedWith({ unit: ["systemd-unit", "/etc/systemd/system/app.service", unit] }, "7", {});
    assert.match((await failuresOf(alone, "7")).join("\n"), /app\.socket/, "without the installed socket beside it, systemd-analyze names it");
  });

  test("checks guarded by a failed staging step do not run", async () => {
    const files = staged(BAD, "3");
    const { checks, steps } = checkSteps(shell, env, files, "3");
    const runs = await shell.steps([{ name: "staging", script: "exit 1" }, ...steps]);
    assert.ok(runs.slice(1).every((run) => run.skipped));
    assert.deepEqual(checkFailures(checks, runs.slice(1)), []);
  });
});
