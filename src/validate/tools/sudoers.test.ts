import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTEXT, SUDOERS, renderedFile, replaceOnce, sudoersFile } from "../../../test/fixtures/tools/reference-bundle.js";
import { assertFailedWith, assertNotRunWith, assertPassed, withEmptyPath, withScratch } from "../../../test/fixtures/tools/scratch.js";
import { checkSudoers } from "./sudoers.js";

const check = (content: string, path?: string) => withScratch((options) => checkSudoers([sudoersFile(content, path)], CONTEXT, options));

describe("checkSudoers", () => {
  it("passes the reference drop-in with visudo and the allowlist", async () => {
    const [visudo, cvtsudoers] = await check(SUDOERS);
    assertPassed(visudo);
    assertPassed(cvtsudoers);
    assert.equal(visudo?.tool, "visudo");
    assert.equal(cvtsudoers?.tool, "cvtsudoers");
  });

  it("reports a tag typo (NOPASWD) as a syntax error at the server path", async () => {
    const [visudo, cvtsudoers] = await check(replaceOnce(SUDOERS, "NOPASSWD", "NOPASWD"));
    assertFailedWith(visudo, "/etc/sudoers.d/tsosi:1:");
    assertFailedWith(visudo, "syntax error");
    assertFailedWith(cvtsudoers, "cvtsudoers could not parse it");
  });

  it("catches a missing comma between two commands, which visudo accepts", async () => {
    const [visudo, cvtsudoers] = await check(replaceOnce(SUDOERS, "nginx, /usr/bin/systemctl stop nginx", "nginx /usr/bin/systemctl stop nginx"));
    assertPassed(visudo);
    assertFailedWith(cvtsudoers, 'command not in allowlist: "/usr/bin/systemctl start nginx /usr/bin/systemctl stop nginx"');
  });

  it("catches an injected rule for ALL users", async () => {
    const [visudo, cvtsudoers] = await check(`${SUDOERS}ALL ALL=(ALL) NOPASSWD: ALL\n`);
    assertPassed(visudo);
    assertFailedWith(cvtsudoers, "rule for users [ALL], only deployer allowed");
    assertFailedWith(cvtsudoers, 'command not in allowlist: "ALL"');
  });

  it("refuses Defaults, aliases and negated commands in the drop-in", async () => {
    const [, defaults] = await check(`${SUDOERS}Defaults:deployer !requiretty\n`);
    assertFailedWith(defaults, "unexpected section Defaults");
    const [, negated] = await check(`${SUDOERS}deployer ALL=(ALL) NOPASSWD: !/bin/sh\n`);
    assertFailedWith(negated, "non-literal or negated command entry");
  });

  it("fails an undefined alias in strict mode", async () => {
    const [visudo, cvtsudoers] = await check(`${SUDOERS}deployer ALL=(ALL) NOPASSWD: DEPLOY_CMDS\n`);
    assertFailedWith(visudo, "DEPLOY_CMDS");
    assertFailedWith(cvtsudoers, "non-literal or negated command entry");
  });

  it("fails a drop-in name that sudo skips (tsosi.conf, tsosi~)", async () => {
    const [visudo] = await check(SUDOERS, "/etc/sudoers.d/tsosi.conf");
    assertFailedWith(visudo, "/etc/sudoers.d/tsosi.conf: silently skipped by sudo's @includedir");
    const [backup] = await check(SUDOERS, "/etc/sudoers.d/tsosi~");
    assertFailedWith(backup, "silently skipped");
  });

  it("fails a drop-in that is not 0440 root", async () => {
    const file = renderedFile("/etc/sudoers.d/tsosi", "sudoers", SUDOERS, { mode: "0644" });
    const [visudo] = await withScratch((options) => checkSudoers([file], CONTEXT, options));
    assertFailedWith(visudo, "mode 0644");
  });

  it("is not-run, naming the package, when visudo and cvtsudoers are missing", async () => {
    const [visudo, cvtsudoers] = await withEmptyPath((options) => checkSudoers([sudoersFile()], CONTEXT, options));
    assertNotRunWith(visudo, "visudo not found", '"sudo"');
    assertNotRunWith(cvtsudoers, "cvtsudoers not found", '"sudo"');
  });
});
