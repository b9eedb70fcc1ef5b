// Which packages give the Python an environment asks for (python_fix.py, a module of the doctor program), run by the
// python3 of this machine: which distribution the server is, what apt says it has, and a fix for app.pythonVersion
// that names packages only where they exist. The servers here are folders with an etc/os-release and no apt package
// lists, so the table of python-packages.ts answers (the apt-cache answers of a real archive are in
// test/integration/doctor.test.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { callPython } from "../../test/support/python-module.js";
import { pythonSpec } from "./python-packages.js";

const call = (name: string, ...args: unknown[]): unknown => callPython("doctor", "python_fix", name, ...args);

const BOOKWORM = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`;
const NOBLE = `PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n`;
const MINT = `NAME="Linux Mint"\nVERSION_ID="21.3"\nVERSION_CODENAME=virginia\nID=linuxmint\nID_LIKE="ubuntu debian"\nUBUNTU_CODENAME=jammy\n`;

/** A server's "/" with this os-release (none when undefined). */
function withServer<T>(osRelease: string | undefined, body: (root: string) => T): T {
  const root = mkdtempSync(join(tmpdir(), "gen-python-fix-"));
  try {
    if (osRelease !== undefined) {
      mkdirSync(join(root, "etc"));
      writeFileSync(join(root, "etc/os-release"), osRelease);
    }
    return body(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("os-release is read as the shell would: quoted or not, comments and odd lines left out", () => {
  withServer(`${BOOKWORM}# a comment\nnot a field\nEMPTY=\n`, (root) => {
    const fields = call("os_release", [join(root, "etc/os-release")]) as Record<string, string>;
    assert.equal(fields.PRETTY_NAME, "Debian GNU/Linux 12 (bookworm)");
    assert.equal(fields.VERSION_ID, "12");
    assert.equal(fields.VERSION_CODENAME, "bookworm");
    assert.equal(fields.EMPTY, "");
    assert.equal(Object.keys(fields).length, 7);
  });
  assert.deepEqual(call("os_release", ["/nonexistent/os-release"]), {});
});

test("a release is known by its codename (a derivative by the Ubuntu one), or by ID and VERSION_ID", () => {
  const table = pythonSpec("3.12", "/").distributions;
  const python = (fields: Record<string, string>) => (call("known_distribution", fields, table) as { python: string } | null)?.python ?? null;
  assert.equal(python({ ID: "debian", VERSION_CODENAME: "bookworm" }), "3.11");
  assert.equal(python({ ID: "debian", VERSION_ID: "11" }), "3.9");
  assert.equal(python({ ID: "ubuntu", VERSION_ID: "22.04" }), "3.10");
  assert.equal(python({ ID: "linuxmint", VERSION_CODENAME: "virginia", UBUNTU_CODENAME: "jammy" }), "3.10");
  assert.equal(python({ ID: "debian", VERSION_ID: "10", VERSION_CODENAME: "buster" }), null);
  assert.equal(python({ ID: "fedora", VERSION_ID: "40" }), null);
});

test("apt-cache policy's candidates count only when apt reads a package list, not just dpkg's status", () => {
  const policy = `python3:
  Installed: 3.11.2-1+b1
  Candidate: 3.11.2-1+b1
  Version table:
 *** 3.11.2-1+b1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
python3.12:
  Installed: (none)
  Candidate: (none)
  Version table:
`;
  assert.deepEqual(call("apt_policy", policy), { python3: "3.11.2-1+b1" });
  const installedOnly =
    "python3:\n  Installed: 3.11.2-1+b1\n  Candidate: 3.11.2-1+b1\n  Version table:\n *** 3.11.2-1+b1 100\n        100 /var/lib/dpkg/status\n";
  assert.equal(call("apt_policy", installedOnly), null);
  assert.equal(call("major_minor", "3.11.2-1+b1"), "3.11");
  assert.equal(call("major_minor", "1:3.12.3-0ubuntu2"), "3.12");
});

test("Debian 12 has no python3.12: the fix is its own Python 3.11, or Python 3.12 from elsewhere", () => {
  withServer(BOOKWORM, (root) => {
    assert.equal(
      call("python_fix", pythonSpec("3.12", root), "deployer", 30),
      `set app.pythonVersion to "3.11": Debian GNU/Linux 12 (bookworm) has Python 3.11, not 3.12 (sudo apt-get install python3 python3-venv); or install Python 3.12 another way, so that python3.12 is on deployer's PATH`,
    );
    assert.equal(call("python_fix", pythonSpec("3.11", root), "deployer", 30), "sudo apt-get install python3.11 python3.11-venv");
  });
});

test("Ubuntu 24.04 and a derivative of 22.04 get the packages of their own Python", () => {
  withServer(NOBLE, (root) => assert.equal(call("python_fix", pythonSpec("3.12", root), "deployer", 30), "sudo apt-get install python3.12 python3.12-venv"));
  withServer(MINT, (root) =>
    assert.match(call("python_fix", pythonSpec("3.12", root), "deployer", 30) as string, /^set app\.pythonVersion to "3\.10": Linux Mint 21\.3 has/),
  );
});

test("on a distribution gen does not know, no package is named: Python from elsewhere, or the server's python3", () => {
  const own = call("major_minor", spawnSync("python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).stdout);
  withServer(undefined, (root) =>
    assert.equal(
      call("python_fix", pythonSpec("3.99", root), "deployer", 30),
      `install Python 3.99, so that python3.99 is on deployer's PATH (gen knows no package of it for a server without /etc/os-release), or set app.pythonVersion to "${own}", the version of the server's python3`,
    ),
  );
});
