// The release a rollback goes to: the newest good one before the live one, naming those it skips; a named one
// must exist, whatever its status (warning about a bad one is the command's, before it asks).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ReleaseStatus } from "./release-history.js";
import type { ReleaseInfo } from "./releases.js";
import { rollbackTarget } from "./rollback-release.js";

const release = (id: string, status: ReleaseStatus, live = false): ReleaseInfo => ({ id, live, status, inUse: [] });
const [A, B, C, D] = ["20261201T090000Z", "20261201T100000Z", "20261201T110000Z", "20261201T120000Z"];

test("without --to, goes to the newest good release before the live one and names the ones it skips", () => {
  const releases = [release(A, "good"), release(B, "rolled-back"), release(C, "failed"), release(D, "good", true)];
  assert.deepEqual(rollbackTarget(releases, undefined, "h"), {
    target: A,
    skipped: [
      { id: C, status: "failed" },
      { id: B, status: "rolled-back" },
    ],
  });
});

test("without a good release before the live one, refuses, naming what it skipped and how to switch anyway", () => {
  const releases = [release(A, "rolled-back"), release(B, "unfinished"), release(C, "good", true)];
  assert.throws(
    () => rollbackTarget(releases, undefined, "h"),
    new RegExp(
      `^GenError: no good release before the live one on h: nothing to roll back to; skipped ${B} \\(unfinished: no deployment\\.json\\), ${A} \\(rolled back\\); name one with --to ID to switch to it anyway$`,
    ),
  );
  assert.throws(() => rollbackTarget([release(A, "good")], undefined, "h"), /^GenError: no good release before the live one on h: nothing to roll back to$/);
});

test("with --to, takes the named release whatever its status, and refuses one that does not exist", () => {
  const releases = [release(A, "good"), release(B, "rolled-back"), release(C, "good", true)];
  assert.deepEqual(rollbackTarget(releases, B, "h"), { target: B, skipped: [] });
  assert.throws(() => rollbackTarget(releases, "nope", "h"), /^GenError: no release nope on h; releases: /);
});
