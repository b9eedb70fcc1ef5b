import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTEXT, SETTINGS, renderedFile, replaceOnce, settingsFile } from "../../../test/fixtures/tools/reference-bundle.js";
import { assertFailedWith, assertNotRunWith, assertPassed, withEmptyPath, withScratch } from "../../../test/fixtures/tools/scratch.js";
import { checkPythonSettings, evaluatePythonSettings } from "./python-settings.js";

const check = (content: string, secret = true) =>
  withScratch((options) =>
    checkPythonSettings([renderedFile("/home/deployer/config/settings_local.py", "python-settings", content, { secret })], CONTEXT, options),
  );

describe("checkPythonSettings", () => {
  it("passes a complete settings file of literals", async () => {
    assertPassed(await check(SETTINGS));
  });

  it("fails an unterminated string", async () => {
    const report = await check(replaceOnce(SETTINGS, '"PASSWORD": "s3cret-Pa55word"', '"PASSWORD": "s3cret"Pa55word"'));
    assertFailedWith(report, "/home/deployer/config/settings_local.py:9: SyntaxError: unterminated string literal");
  });

  it("fails an invalid escape sequence (warnings are errors)", async () => {
    assertFailedWith(await check(replaceOnce(SETTINGS, '"s3cret-Pa55word"', String.raw`"s3cret\Pa55word"`)), "invalid escape sequence");
  });

  it("fails an undefined name (DEBUG = false)", async () => {
    assertFailedWith(await check(replaceOnce(SETTINGS, "DEBUG = False", "DEBUG = false"), false), "undefined name 'false' in the value of DEBUG");
  });

  it("does not quote names from a secret file", async () => {
    const report = await check(replaceOnce(SETTINGS, 'SECRET_KEY = "k9x2', "SECRET_KEY = k9x2 #"));
    assertFailedWith(report, "undefined name in the value of SECRET_KEY");
    assert.ok(!report.messages.some((message) => message.includes("k9x2")), report.messages.join("\n"));
  });

  it("fails an unrendered placeholder", async () => {
    assertFailedWith(await check(replaceOnce(SETTINGS, '"/tsosi_media/"', '"{REPLACE}"')), "unrendered placeholder '{REPLACE}' in MEDIA_ROOT");
  });

  it("fails implicit string concatenation (missing comma) and duplicate assignments", async () => {
    assertFailedWith(await check(replaceOnce(SETTINGS, '"tsosi.org", "www', '"tsosi.org" "www')), "implicit string concatenation");
    assertFailedWith(await check(`${SETTINGS}DEBUG = True\n`), "DEBUG assigned twice (first at line 14)");
  });

  it("fails a file that raises when executed", async () => {
    assertFailedWith(await check(`${SETTINGS}TSOSI_API_RATE = 1 / 0\n`), "ZeroDivisionError");
  });

  it("is not-run, naming the package, when python3 is missing", async () => {
    const report = await withEmptyPath((options) => checkPythonSettings([settingsFile()], CONTEXT, options));
    assertNotRunWith(report, "python3 not found", '"python3"');
  });
});

describe("evaluatePythonSettings", () => {
  it("returns the UPPERCASE names with their values", async () => {
    const values = await withScratch((options) => evaluatePythonSettings(SETTINGS, options));
    assert.equal(values.DEBUG, false);
    assert.equal(values.TSOSI_REDIS_PORT, 6379);
    assert.deepEqual(values.ALLOWED_HOSTS, ["tsosi.org", "www.tsosi.org", "tsosi.u-ga.fr", "127.0.0.1", "129.88.178.178"]);
    assert.deepEqual((values.DATABASES as { default: { PORT: string } }).default.PORT, "5432");
  });

  it("throws with the line when the file does not run", async () => {
    await assert.rejects(
      withScratch((options) => evaluatePythonSettings("X = 1\nY = undefined_name\n", options)),
      (error: Error & { details?: string[] }) =>
        error.message.includes("could not be evaluated") && (error.details ?? []).some((d) => d.includes(":2: NameError")),
    );
  });

  it("throws, naming the package, when python3 is missing", async () => {
    await assert.rejects(
      withEmptyPath((options) => evaluatePythonSettings(SETTINGS, options)),
      /python3 not found.*"python3"/,
    );
  });
});
