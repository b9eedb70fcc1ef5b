import { describe, it } from "node:test";
import { CONTEXT, LOGROTATE, logrotateFile, renderedFile, replaceOnce } from "../../../test/fixtures/tools/reference-bundle.js";
import { assertFailedWith, assertNotRunWith, assertPassed, withEmptyPath, withScratch } from "../../../test/fixtures/tools/scratch.js";
import type { ToolRunOptions } from "./tool-report.js";
import { checkLogrotate } from "./logrotate.js";

const check = (content: string, extra: ToolRunOptions = {}) => withScratch((options) => checkLogrotate([logrotateFile(content)], CONTEXT, options), extra);
const withSu = replaceOnce(LOGROTATE, "    compress\n", "    compress\n    su deployer deployer\n    create 0640 deployer deployer\n");

describe("checkLogrotate", () => {
  it("passes the reference config", async () => {
    assertPassed(await check(LOGROTATE));
  });

  it("fails an unknown directive although logrotate exits 0 (weekyl)", async () => {
    const report = await check(replaceOnce(LOGROTATE, "weekly", "weekyl"));
    assertFailedWith(report, "error: /etc/logrotate.d/tsosi:3 unknown option 'weekyl' -- ignoring line");
  });

  it("fails inline comments, also those logrotate accepts silently", async () => {
    const report = await check(replaceOnce(LOGROTATE, "rotate 5", "rotate 5 # Number of rotation before deletion"));
    assertFailedWith(report, "bad rotation count '5 # Number of rotation before deletion'");
    const silent = await check(replaceOnce(LOGROTATE, "missingok", "missingok # No error if missing file"));
    assertFailedWith(silent, "/etc/logrotate.d/tsosi:6: inline comment");
  });

  it("stubs server users named by su/create in a private mount namespace", async () => {
    assertPassed(await check(withSu));
  });

  it("is not-run when server users would need stubs but namespaces are unavailable", async () => {
    assertNotRunWith(await check(withSu, { namespaces: false }), "deployer", "cannot be stubbed");
  });

  it("fails a user that exists neither here nor on the server", async () => {
    const report = await check(replaceOnce(LOGROTATE, "    compress\n", "    compress\n    su nosuchuser nosuchuser\n"));
    assertFailedWith(report, "unknown user 'nosuchuser'");
  });

  it("fails a config mode that makes logrotate skip the file", async () => {
    const file = renderedFile("/etc/logrotate.d/tsosi", "logrotate", LOGROTATE, { mode: "0664" });
    assertFailedWith(await withScratch((options) => checkLogrotate([file], CONTEXT, options)), "mode 0664");
  });

  it("is not-run, naming the package, when logrotate is missing", async () => {
    const report = await withEmptyPath((options) => checkLogrotate([logrotateFile()], CONTEXT, options));
    assertNotRunWith(report, "logrotate not found", '"logrotate"');
  });
});
