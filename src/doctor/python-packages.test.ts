// What the server program gets to name a Python fix that exists on the server's distribution.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DISTRIBUTION_PYTHONS, pythonSpec } from "./python-packages.js";

test("each release gen knows has one Python 3 in its archive", () => {
  assert.deepEqual(
    DISTRIBUTION_PYTHONS.map((d) => `${d.id} ${d.versionId} ${d.codename} ${d.python}`),
    ["debian 11 bullseye 3.9", "debian 12 bookworm 3.11", "debian 13 trixie 3.13", "ubuntu 22.04 jammy 3.10", "ubuntu 24.04 noble 3.12"],
  );
});

test("the packages of app.pythonVersion, os-release and apt read on the server's / as is", () => {
  const spec = pythonSpec("3.12", "/");
  assert.deepEqual(spec.packages, ["python3.12", "python3.12-venv"]);
  assert.deepEqual(spec.osRelease, ["/etc/os-release", "/usr/lib/os-release"]);
  assert.deepEqual(spec.apt, ["apt-cache"]);
  assert.equal(spec.fix, "sudo apt-get install python3.12 python3.12-venv");
});

test("under a root prefix, os-release and apt's lists are read there", () => {
  const spec = pythonSpec("3.11", "/tmp/server/");
  assert.deepEqual(spec.osRelease, ["/tmp/server/etc/os-release", "/tmp/server/usr/lib/os-release"]);
  assert.deepEqual(spec.apt, ["apt-cache", "-o", "Dir=/tmp/server/"]);
});
