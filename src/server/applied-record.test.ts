// The record step, run for real through the local transport in a temp folder: the record is written 0600 with
// exactly its content, the log line appended, and a leftover .new (even a link an interrupted run left) is
// replaced without writing through it.
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import type { PlanEntry } from "../plan/plan-types.js";
import { appliedRecordPath, recordStep, type ApplyLogEntry } from "./applied-record.js";
import { serverShell } from "./server-shell.js";
import { runStep } from "../transport/typed-steps.js";

const { root, transport } = localServer("record-step");
const env = { server: { useSudo: false, stateDir: "/state", systemServices: [] } } as unknown as Environment;
const shell = serverShell(transport, env);
const entries = [{ path: "/etc/it's here", desired: { sha256: "ab".repeat(32) } }] as unknown as PlanEntry[];
const log: ApplyLogEntry = { id: "1", who: "a@b", at: "2026-11-29T00:00:00.000Z", host: "h", outcome: "applied", files: [], restored: [] };

async function record(stateDir: string): Promise<void> {
  // The step's parse names its output when it failed.
  await runStep(shell, recordStep(shell, stateDir, entries, { "/old": "cd".repeat(32) }, log, 3));
}

describe("the record step", () => {
  test("writes the record 0600 with exactly its content and appends the log line", async () => {
    mkdirSync(join(root, "s1"));
    await record("/s1");
    const file = join(root, appliedRecordPath("/s1"));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), {
      files: { "/old": "cd".repeat(32), "/etc/it's here": "ab".repeat(32) },
      lastApply: "1",
      by: "a@b",
      at: log.at,
    });
    assert.ok(readFileSync(file, "utf8").endsWith("}\n"));
    assert.deepEqual(readFileSync(join(root, "s1", "apply.log"), "utf8"), `${JSON.stringify(log)}\n`);
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
