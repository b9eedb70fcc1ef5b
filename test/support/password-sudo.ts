// The gen-admin user as an administrator whose sudo asks for its password: for the length of `body`, a random
// password (chpasswd) and the rule `gen-admin ALL=(ALL:ALL) ALL` in a drop-in of its own (checked with visudo -cf);
// both are taken away afterwards, also when body throws. Needs root, as the suite runs (npm run test:full).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";

export const ADMIN = "gen-admin";

/** `rule` is the sudoers rule's command part: "ALL" asks for the password, "NOPASSWD: ALL" does not. */
export async function withPasswordSudo(body: (password: string) => Promise<void>, rule = "ALL"): Promise<void> {
  assert.equal(process.getuid?.(), 0, "this test gives gen-admin a password and a sudoers rule: it must run as root (npm run test:full)");
  assert.equal(spawnSync("id", ["-u", ADMIN]).status, 0, `the test user ${ADMIN} does not exist: npm run test:full creates it`);
  const password = `sudo-pw-${randomBytes(9).toString("base64url")}`;
  // sudo skips drop-in names with a dot: letters, digits and - only.
  const dropIn = `/etc/sudoers.d/gen-admin-${randomBytes(6).toString("hex")}`;
  try {
    must(spawnSync("chpasswd", [], { input: `${ADMIN}:${password}\n` }), "chpasswd");
    writeFileSync(dropIn, `${ADMIN} ALL=(ALL:ALL) ${rule}\n`, { mode: 0o440 });
    must(spawnSync("visudo", ["-cf", dropIn]), "visudo -cf");
    await body(password);
  } finally {
    rmSync(dropIn, { force: true });
    spawnSync("passwd", ["-l", ADMIN]);
  }
}

function must(run: ReturnType<typeof spawnSync>, what: string): void {
  assert.equal(run.status, 0, `${what} failed: ${String(run.stderr)}`);
}
