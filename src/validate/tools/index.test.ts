import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTEXT, logrotateFile, referenceBundle, replaceOnce, LOGROTATE } from "../../../test/fixtures/tools/reference-bundle.js";
import { assertFailedWith, assertNotRunWith, assertPassed, withEmptyPath, withScratch } from "../../../test/fixtures/tools/scratch.js";
import { runToolChecks } from "./index.js";

const TOOLS = ["visudo", "cvtsudoers", "systemd-analyze", "nginx", "logrotate", "python3"];

describe("runToolChecks", () => {
  it("passes the reference-sized bundle with every tool, ignoring symlinks", async (t) => {
    const started = performance.now();
    const reports = await withScratch((options) => runToolChecks(referenceBundle(), CONTEXT, options));
    t.diagnostic(`runToolChecks on the reference bundle: ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(
      reports.map((report) => report.tool),
      TOOLS,
    );
    reports.forEach(assertPassed);
    assert.ok(!reports.some((report) => report.files.includes("/etc/nginx/sites-enabled/tsosi-app")));
  });

  it("reports a fault in one file without affecting the other tools", async () => {
    const files = referenceBundle().map((file) => (file.kind === "logrotate" ? logrotateFile(replaceOnce(LOGROTATE, "weekly", "weekyl")) : file));
    const reports = await withScratch((options) => runToolChecks(files, CONTEXT, options));
    assertFailedWith(
      reports.find((report) => report.tool === "logrotate"),
      "unknown option 'weekyl'",
    );
    reports.filter((report) => report.tool !== "logrotate").forEach(assertPassed);
  });

  it("says not-run for every tool when none is on PATH", async () => {
    const reports = await withEmptyPath((options) => runToolChecks(referenceBundle(), CONTEXT, options));
    assert.deepEqual(
      reports.map((report) => report.tool),
      TOOLS,
    );
    for (const report of reports) assertNotRunWith(report, "not found on PATH", "install the Debian package");
  });

  it("returns no reports for kinds it was not given", async () => {
    assert.deepEqual(await withScratch((options) => runToolChecks([], CONTEXT, options)), []);
  });
});
