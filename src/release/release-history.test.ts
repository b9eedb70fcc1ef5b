// The rule that says which releases are good, and the reading of the release log it rests on, which the deploy
// user writes: each line checked, junk left out, text bounded and escaped.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  describeStatus,
  ERROR_CHARS,
  judgements,
  LOG_LINE_CHARS,
  parseReleaseLogText,
  previousGoodRelease,
  releaseStatus,
  type ReleaseLogEntry,
  type ReleaseStanding,
} from "./release-history.js";

const [A, B, C, D, E] = ["20261201T090000Z", "20261201T100000Z", "20261201T110000Z", "20261201T120000Z", "20261201T130000Z"];
const deploy = (release: string, result: ReleaseLogEntry["result"]): ReleaseLogEntry => ({ at: "t", who: "ada@laptop", command: "deploy", release, result });
const rollback = (release: string, result: ReleaseLogEntry["result"], from?: string): ReleaseLogEntry => ({
  at: "t",
  who: "ada@laptop",
  command: "rollback",
  release,
  result,
  ...(from ? { from } : {}),
});
const statusOf = (log: ReleaseLogEntry[], id: string, finished = true) => releaseStatus(finished, judgements(log).get(id));

describe("a release's status", () => {
  test("comes from the last record that judges it", () => {
    assert.equal(statusOf([deploy(A, "deployed")], A), "good");
    assert.equal(statusOf([deploy(A, "rolled-back")], A), "rolled-back");
    assert.equal(statusOf([deploy(A, "failed")], A), "failed");
    assert.equal(statusOf([deploy(A, "deployed"), rollback(A, "failed")], A), "failed", "its restart failed after a rollback to it");
    assert.equal(statusOf([deploy(A, "rolled-back"), rollback(A, "switched")], A), "good", "switched to on purpose, and it restarted");
  });

  test("is rolled back when an operator rolled back from it to an older release; a rollback forward judges only its target", () => {
    const log = [deploy(A, "deployed"), deploy(B, "deployed"), rollback(A, "switched", B)];
    assert.equal(statusOf(log, B), "rolled-back");
    assert.equal(statusOf(log, A), "good");
    assert.equal(statusOf([...log, rollback(B, "switched", A)], A), "good", "forward again: A is not judged");
    assert.equal(statusOf([...log, rollback(B, "switched", A)], B), "good");
  });

  test("only a rollback that switched, away from a newer release, marks that release rolled back (the log is the deploy user's)", () => {
    const log = [deploy(A, "deployed"), deploy(B, "deployed")];
    const record = (extra: Partial<ReleaseLogEntry>) => ({ ...rollback(A, "switched", B), ...extra });
    assert.equal(statusOf([...log, record({ command: "deploy" })], B), "good", "a deploy names no release it left");
    assert.equal(statusOf([...log, record({ result: "failed" })], B), "good", "a rollback that failed left nothing");
    assert.equal(statusOf([...log, record({ release: B, from: B })], B), "good", "a rollback to the live release itself");
    assert.equal(statusOf([...log, rollback(A, "switched")], B), "good", "a record without from");
    assert.deepEqual([...judgements([...log, rollback(A, "switched")]).keys()], [A, B]);
  });

  test("is good for a finished release the log does not name, and unfinished without deployment.json whatever the log says", () => {
    assert.equal(statusOf([], A), "good");
    assert.equal(statusOf([deploy(A, "deployed")], A, false), "unfinished");
  });
});

describe("the previous release", () => {
  const standing = (pairs: [string, ReleaseStanding["status"]][]): ReleaseStanding[] => pairs.map(([id, status]) => ({ id, status }));

  test("is found in releases listed in any order, and each status reads as a word", () => {
    for (const order of [
      [A, B, C],
      [C, A, B],
      [B, C, A],
    ]) {
      assert.deepEqual(previousGoodRelease(standing(order.map((id) => [id, "good"])), D), { id: C, skipped: [] }, order.join(" "));
    }
    assert.deepEqual((["good", "rolled-back", "failed", "unfinished"] as const).map(describeStatus), [
      "good",
      "rolled back",
      "failed",
      "unfinished: no deployment.json",
    ]);
  });

  test("is the newest good release older than the live one, naming those it skipped", () => {
    const releases = standing([
      [A, "good"],
      [B, "rolled-back"],
      [C, "failed"],
      [D, "unfinished"],
      [E, "good"],
    ]);
    assert.deepEqual(previousGoodRelease(releases, E), {
      id: A,
      skipped: [
        { id: D, status: "unfinished" },
        { id: C, status: "failed" },
        { id: B, status: "rolled-back" },
      ],
    });
    assert.deepEqual(previousGoodRelease(releases, B), { id: A, skipped: [] });
  });

  test("is none when every older release is bad, and the newest good one when nothing is live", () => {
    assert.deepEqual(
      previousGoodRelease(
        standing([
          [A, "rolled-back"],
          [B, "good"],
        ]),
        B,
      ),
      { skipped: [{ id: A, status: "rolled-back" }] },
    );
    assert.deepEqual(
      previousGoodRelease(
        standing([
          [A, "good"],
          [B, "failed"],
        ]),
        undefined,
      ),
      { id: A, skipped: [{ id: B, status: "failed" }] },
    );
  });
});

describe("the release log, the deploy user's file", () => {
  test("keeps the lines gen writes and leaves out junk, wrong types, unknown words and release ids that are not ids", () => {
    const good = { at: "2026-12-01T10:00:00.000Z", who: "ada@laptop", command: "deploy", release: B, commit: "c0ffee1", result: "rolled-back", error: "smoke" };
    const lines = [
      JSON.stringify(good),
      "{ cut short",
      "",
      "null",
      "[1,2]",
      JSON.stringify({ ...good, result: "great" }),
      JSON.stringify({ ...good, command: "rm -rf /" }),
      JSON.stringify({ ...good, release: "../../etc" }),
      JSON.stringify({ ...good, who: 7 }),
      JSON.stringify({ ...good, release: C, commit: "$(reboot)", error: 42, from: "x", extra: { deep: true } }),
      JSON.stringify({ ...good, release: D, error: "e".repeat(LOG_LINE_CHARS) }),
    ];
    assert.deepEqual(parseReleaseLogText(lines.join("\n")), [good, { at: good.at, who: good.who, command: "deploy", release: C, result: "rolled-back" }]);
  });

  test("keeps a rollback's commit and the release it left only when they are what gen writes; bounds a line at LOG_LINE_CHARS", () => {
    const line = { at: "t", who: "ada@laptop", command: "rollback", release: A, result: "switched", commit: "c0ffee1", from: B };
    assert.deepEqual(parseReleaseLogText(JSON.stringify(line)), [line]);
    for (const result of ["deployed", "failed", "rolled-back", "switched"] as const) {
      const kept = { at: "t", who: "ada@laptop", command: "deploy" as const, release: A, result };
      assert.deepEqual(parseReleaseLogText(JSON.stringify(kept)), [kept], result);
    }
    for (const junk of [
      { commit: "xc0ffee1" },
      { commit: "c0ffee1x" },
      { commit: 1234567 },
      { from: `x${B}` },
      { from: `${B}x` },
      { from: 20261201 },
      { from: [B] },
      { commit: ["c0ffee1"] },
    ]) {
      const [entry] = parseReleaseLogText(JSON.stringify({ ...line, ...junk }));
      const key = Object.keys(junk)[0] as "commit" | "from";
      assert.equal(entry![key], undefined, JSON.stringify(junk));
    }
    for (const release of [`x${A}`, `${A}x`]) assert.deepEqual(parseReleaseLogText(JSON.stringify({ ...line, release })), [], release);
    const sized = (length: number) => {
      const base = JSON.stringify({ ...line, error: "" });
      return JSON.stringify({ ...line, error: "e".repeat(length - base.length) });
    };
    assert.equal(sized(LOG_LINE_CHARS).length, LOG_LINE_CHARS);
    assert.equal(parseReleaseLogText(sized(LOG_LINE_CHARS)).length, 1);
    assert.equal(parseReleaseLogText(sized(LOG_LINE_CHARS + 1)).length, 0);
  });

  test("escapes control characters and bounds the text it keeps", () => {
    const line = { at: "t", who: "ada\u001b]0;owned\u0007", command: "deploy", release: A, result: "failed", error: `x\u001b[2J${"y".repeat(3000)}` };
    const [entry] = parseReleaseLogText(JSON.stringify(line));
    assert.equal(entry!.who, "ada\\x1b]0;owned\\x07");
    assert.ok(entry!.error!.startsWith("x\\x1b[2Jyyy"));
    assert.ok(entry!.error!.length <= ERROR_CHARS + 10, `${entry!.error!.length} characters`);
  });
});
