// The record step, run for real through the local transport in a temp folder: the record is written 0600 with
// exactly its content, the log line appended, and a leftover .new (even a link an interrupted run left) is
// replaced without writing through it; or, when the staging program wrote them (root_files.py), moved and appended
// by a step that stays a few lines whatever the number of files.
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import { appliedRecord, appliedRecordPath, recordStep, stagedRecordFiles, type ApplyLogEntry } from "./applied-record.js";
import { rootFilesStep } from "./root-files.js";
import { serverShell } from "./server-shell.js";
import { plainStep, runStep } from "../transport/typed-steps.js";

const { root, transport } = localServer("record-step");
const env = { server: { useSudo: false, stateDir: "/state", systemServices: [] } } as unknown as Environment;
const shell = serverShell(transport, env);
const entries = [{ path: "/etc/it's here", desired: { sha256: "ab".repeat(32) } }] as unknown as PlanEntry[];
const log: ApplyLogEntry = { id: "1", who: "a@b", at: "2026-11-29T00:00:00.000Z", host: "h", outcome: "applied", files: [], restored: [] };

const data = appliedRecord(entries, { "/old": "cd".repeat(32) }, log);

async function record(stateDir: string): Promise<void> {
  // The step's parse names its output when it failed.
  await runStep(shell, recordStep(shell, stateDir, data));
}

/** Staged by the staging program into an incoming folder, then recorded from there. */
async function recordStaged(stateDir: string, recorded = data): Promise<string> {
  const incoming = `${stateDir}/incoming-1`;
  const staged = await runStep(
    shell,
    plainStep(rootFilesStep(shell, "staging", { op: "stage", files: [{ folder: incoming, mode: "0700" }, ...stagedRecordFiles(incoming, recorded)] })),
  );
  assert.equal(staged.exitCode, 0, staged.stderr);
  const step = recordStep(shell, stateDir, recorded, incoming);
  await runStep(shell, step);
  return step.script;
}

function assertRecorded(stateDir: string): void {
  const file = join(root, appliedRecordPath(stateDir));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), {
    files: { "/old": "cd".repeat(32), "/etc/it's here": "ab".repeat(32) },
    lastApply: "1",
    by: "a@b",
    at: log.at,
  });
  assert.ok(readFileSync(file, "utf8").endsWith("}\n"));
  assert.deepEqual(readFileSync(join(root, stateDir, "apply.log"), "utf8"), `${JSON.stringify(log)}\n`);
}

describe("the record step", () => {
  test("writes the record 0600 with exactly its content and appends the log line", async () => {
    mkdirSync(join(root, "s1"));
    await record("/s1");
    assertRecorded("/s1");
  });

  test("staged by the staging program: the same record and log line, from a step that holds neither", async () => {
    mkdirSync(join(root, "s3"));
    const script = await recordStaged("/s3");
    assertRecorded("/s3");
    assert.doesNotMatch(script, /cdcd|"id"/);
    assert.equal(statSync(join(root, "s3/incoming-1")).mode & 0o7777, 0o700);
    // A record of many files: the step is as short (the session's shell reads it itself, no head process).
    const many = Array.from({ length: 500 }, (_, i) => ({ path: `/etc/many/f${i}.conf`, desired: { sha256: "ef".repeat(32) } }));
    const files = many.map((e) => ({ path: e.path, new: e.desired.sha256 }));
    mkdirSync(join(root, "s4"));
    const long = await recordStaged("/s4", appliedRecord(many, undefined, { ...log, files }));
    assert.equal(long.length, script.length);
    assert.equal(Object.keys(JSON.parse(readFileSync(join(root, "s4/applied.json"), "utf8")).files).length, 500);
    assert.equal(JSON.parse(readFileSync(join(root, "s4/apply.log"), "utf8")).files.length, 500);
  });

  test("replaces a leftover .new, a link included, without writing through it", async () => {
    mkdirSync(join(root, "s2"));
    const elsewhere = join(root, "elsewhere");
    writeFileSync(elsewhere, "untouched\n");
    symlinkSync(elsewhere, join(root, "s2", "applied.json.new"));
    await record("/s2");
    assert.equal(readFileSync(elsewhere, "utf8"), "untouched\n");
    assert.ok(lstatSync(join(root, "s2", "applied.json")).isFile());
    assert.equal(JSON.parse(readFileSync(join(root, "s2", "applied.json"), "utf8")).lastApply, "1");
  });
});
