import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { HOSTILE_ARGUMENTS } from "../../test/support/transport-contract.js";
import { quoteArg, quoteArgv } from "./shell-quote.js";

/** What /bin/sh makes of the quoted words: each one printed, NUL-terminated. */
function shellWords(values: string[]): string[] {
  const script = `printf '%s\\0' ${values.map(quoteArg).join(" ")}`;
  const result = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split("\0").slice(0, -1);
}

const shellSpecial = fc.constantFrom(..."'\"\\$`\n\t !*?[]{}()<>|&;#~=%^".split(""), "$(", "${", "'\\''");
const hostileString = fc.string({ unit: fc.oneof(shellSpecial, fc.string({ unit: "binary", maxLength: 1 })) }).filter((s) => !s.includes("\0"));

describe("shell quoting", () => {
  it("gives back any string without NUL unchanged after /bin/sh parses it", () => {
    fc.assert(
      fc.property(fc.array(hostileString, { minLength: 1, maxLength: 8 }), (values) => {
        assert.deepEqual(shellWords(values), values);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps the known hostile arguments literal", () => {
    assert.deepEqual(shellWords(HOSTILE_ARGUMENTS), HOSTILE_ARGUMENTS);
  });

  it("leaves plain words readable and quotes the rest", () => {
    assert.equal(quoteArgv(["systemctl", "reload", "nginx.service"]), "systemctl reload nginx.service");
    assert.equal(quoteArg("/etc/sudoers.d/tsosi"), "/etc/sudoers.d/tsosi");
    assert.equal(quoteArg(""), "''");
    assert.equal(quoteArg("it's"), `'it'\\''s'`);
    assert.equal(quoteArg("A=b"), "'A=b'");
    assert.equal(quoteArg("~root"), "'~root'");
  });

  it("refuses a NUL byte, which no argv can carry", () => {
    assert.throws(() => quoteArg("a\0b"), { name: "GenError", message: /NUL byte/ });
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        assert.throws(() => quoteArg(`${before}\0${after}`), /NUL byte/);
      }),
    );
  });
});
