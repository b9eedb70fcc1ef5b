// The sudo half of the doctor program, run by the python3 of this machine against this machine's users and groups:
// whether the drop-in is there, and the groups whose sudo rules need a password (and so are not listed before it is).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SUDO_SCRIPT } from "./sudo-script.js";

/** Calls one function of the program with JSON arguments: its JSON result and what it recorded. */
function call(name: string, ...args: unknown[]): { result: unknown; records: unknown[] } {
  const harness = `import grp, json, os, pwd, subprocess, sys
records = []
def record(check, subject, status, detail, fix=None):
    records.append({"check": check, "subject": subject, "status": status, "detail": detail, "fix": fix})
${SUDO_SCRIPT}
result = ${name}(*json.loads(sys.stdin.read()))
print(json.dumps({"result": result, "records": records}))
`;
  const run = spawnSync("python3", ["-c", harness], { input: JSON.stringify(args), encoding: "utf8" });
  assert.equal(run.status, 0, `python3 (Debian package python3) ran the program: ${run.error?.message ?? run.stderr}`);
  return JSON.parse(run.stdout) as { result: unknown; records: unknown[] };
}

test("a user is in its primary group and in the groups that list it, and not in a group that does not exist", (t) => {
  assert.equal(call("in_group", "root", "root").result, true);
  assert.equal(call("in_group", "root", "gen-doctor-no-such-group").result, false);
  assert.equal(call("in_group", "gen-doctor-no-such-user", "root").result, false);
  // A supplementary membership, as /etc/group on this machine has one (postgres in ssl-cert where PostgreSQL is).
  const listed = readFileSync("/etc/group", "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields.length === 4 && fields[3] !== "");
  if (!listed) return t.skip("no group of this machine lists a member");
  assert.equal(call("in_group", listed[3]!.split(",")[0], listed[0]).result, true);
});

test("a deploy user in a group /etc/sudoers lets run anything is a problem, with the command that takes it out", () => {
  const groups = [
    { name: "root", fix: "sudo deluser root root" },
    { name: "gen-doctor-no-such-group", fix: "never shown" },
  ];
  assert.deepEqual(call("check_admin_groups", "root", groups).records, [
    {
      check: "sudo",
      subject: "root",
      status: "fail",
      detail: "root is in group root, which the distribution's /etc/sudoers lets run any command as root (with root's password)",
      fix: "sudo deluser root root",
    },
  ]);
});

test("the drop-in is installed when its file is there, whatever it holds", () => {
  const dir = mkdtempSync(join(tmpdir(), "gen-sudo-script-"));
  try {
    writeFileSync(join(dir, "tsosi"), "");
    assert.equal(call("drop_in_installed", join(dir, "tsosi")).result, true);
    assert.equal(call("drop_in_installed", join(dir, "other")).result, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
