// A plan saved by gen diff --out is applied only as it was reviewed: savedPlanConflicts names every file for which
// the environment or the server is no longer what the saved plan showed. Pure: plans built by planChanges.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sha256 } from "../render/render-environment.js";
import type { RenderedFile } from "../types.js";
import { planChanges } from "./plan-changes.js";
import { parseSavedPlan, savedPlanConflicts, savePlan } from "./saved-plan.js";
import type { ServerFile } from "./server-state.js";

const none = { reload: [], restart: [] };
function file(path: string, content: string, extra: Partial<RenderedFile> = {}): RenderedFile {
  return { path, kind: "other", content, mode: "0644", owner: "root", group: "root", secret: false, roles: ["web"], handlers: none, ...extra };
}
function onServer(content: string, mode = "0644"): ServerFile {
  return { status: "ok", side: { sha256: sha256(content), mode, owner: "root", group: "root" }, content };
}
function plan(files: RenderedFile[], server: Record<string, ServerFile>, host = "h") {
  return planChanges("t", files, [], [{ host, roles: ["web"], state: { transport: "test", files: new Map(Object.entries(server)), folders: new Map() } }]);
}

// At the review: /etc/a to change, /etc/b unchanged, /etc/c to create, /etc/d's mode to fix.
const reviewedFiles = [file("/etc/a", "A\n"), file("/etc/b", "B\n"), file("/etc/c", "C\n"), file("/etc/d", "D\n", { mode: "0600" })];
const reviewedServer = { "/etc/a": onServer("old\n"), "/etc/b": onServer("B\n"), "/etc/c": { status: "missing" } as const, "/etc/d": onServer("D\n") };
const saved = parseSavedPlan(savePlan(plan(reviewedFiles, reviewedServer), reviewedFiles), "plan.json");
const onServerChanged = (path: string) => `h:${path}: changed on the server since the plan was saved`;
const rendersDifferently = (path: string) => `${path}: the environment now renders it differently than when the plan was saved`;

describe("a saved plan", () => {
  test("still applies when neither the environment nor the server changed", () => {
    assert.deepEqual(savedPlanConflicts(saved, reviewedFiles, plan(reviewedFiles, reviewedServer)), []);
  });

  test("conflicts when a server file changed: edited, removed, created, or put right by hand", () => {
    const cases: [string, Record<string, ServerFile>, string][] = [
      ["a file to change edited again", { ...reviewedServer, "/etc/a": onServer("edited\n") }, "/etc/a"],
      ["an unchanged file edited", { ...reviewedServer, "/etc/b": onServer("edited\n") }, "/etc/b"],
      ["a file to change removed", { ...reviewedServer, "/etc/a": { status: "missing" } }, "/etc/a"],
      ["a file to create created by someone else", { ...reviewedServer, "/etc/c": onServer("C\n") }, "/etc/c"],
      // Same content as reviewed: only the action tells that the mode was fixed meanwhile.
      ["a mode fixed by hand", { ...reviewedServer, "/etc/d": onServer("D\n", "0600") }, "/etc/d"],
    ];
    for (const [name, server, path] of cases) {
      assert.deepEqual(savedPlanConflicts(saved, reviewedFiles, plan(reviewedFiles, server)), [onServerChanged(path)], name);
    }
  });

  test("conflicts for every file of a host the new plan does not have", () => {
    const now = plan(reviewedFiles, reviewedServer, "other");
    assert.deepEqual(savedPlanConflicts(saved, reviewedFiles, now), ["/etc/a", "/etc/b", "/etc/c", "/etc/d"].map(onServerChanged));
  });

  test("conflicts when the environment renders a file differently, no longer renders it, or renders a new one", () => {
    const changed = reviewedFiles.map((f) => (f.path === "/etc/b" ? { ...f, content: "B2\n" } : f));
    assert.deepEqual(savedPlanConflicts(saved, changed, plan(reviewedFiles, reviewedServer)), [rendersDifferently("/etc/b")]);
    const fewer = reviewedFiles.filter((f) => f.path !== "/etc/c");
    assert.deepEqual(savedPlanConflicts(saved, fewer, plan(reviewedFiles, reviewedServer)), [rendersDifferently("/etc/c")]);
    const more = [...reviewedFiles, file("/etc/e", "E\n")];
    assert.deepEqual(savedPlanConflicts(saved, more, plan(reviewedFiles, reviewedServer)), ["/etc/e: not in the saved plan"]);
  });

  test("a file that is not a plan saved by gen is refused, naming the file", () => {
    assert.throws(() => parseSavedPlan("{not json", "plan.json"), /^GenError: plan\.json: not a saved plan: /);
    const whole = JSON.parse(savePlan(plan(reviewedFiles, reviewedServer), reviewedFiles)) as Record<string, unknown>;
    for (const key of ["format", "plan", "rendered"]) {
      const without = JSON.stringify({ ...whole, [key]: undefined });
      assert.throws(() => parseSavedPlan(without, "plan.json"), /^GenError: plan\.json: not a plan saved by gen diff --out$/, key);
    }
    assert.throws(() => parseSavedPlan(JSON.stringify({ ...whole, format: "gen-plan/2" }), "p"), /not a plan saved by gen diff --out/);
    assert.deepEqual(Object.keys(saved.rendered), ["/etc/a", "/etc/b", "/etc/c", "/etc/d"]);
    assert.equal(saved.rendered["/etc/a"], sha256("A\n"));
  });
});
