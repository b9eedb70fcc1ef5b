// gen_read in the real sh, on a folder standing in for a server where someone planted links and FIFOs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { READ_DENIED, READ_LINK, READ_MISSING, READ_NOT_REGULAR, readRefusal, readRoot, safeReadFunctions } from "./safe-read.js";

const root = mkdtempSync(join(tmpdir(), "gen-safe-read-"));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "srv/lock"), { recursive: true });
mkdirSync(join(root, "elsewhere"));
writeFileSync(join(root, "srv/lock/holder.json"), '{"who":"a"}\n');
writeFileSync(join(root, "elsewhere/holder.json"), "root's own\n");
writeFileSync(join(root, "srv/lock/log"), Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(""));
spawnSync("mkfifo", [join(root, "srv/lock/fifo")]);
symlinkSync("/dev/zero", join(root, "srv/lock/zero"));
symlinkSync("../../elsewhere/holder.json", join(root, "srv/lock/link"));
symlinkSync("../elsewhere", join(root, "srv/linked"));

/** Runs the functions in sh (with `set -u`, as steps are) and gives status and output; never more than 10 s. */
function sh(line: string) {
  const run = spawnSync("sh", ["-c", `set -u\n${safeReadFunctions()}\n${line}`], { encoding: "utf8", timeout: 10_000 });
  assert.equal(run.signal, null, `still running after 10 s: ${line}`);
  return { status: run.status, out: run.stdout, err: run.stderr };
}

const read = (dir: string, name: string, max = 100, tail = "") => sh(`gen_read ${root} ${dir} ${name} ${max} ${tail}`);

test("reads a regular file, at most the bytes asked for, or its end", () => {
  assert.deepEqual(read("/srv/lock", "holder.json"), { status: 0, out: '{"who":"a"}\n', err: "" });
  assert.equal(read("/srv/lock", "log", 7).out, "line 0\n");
  assert.equal(read("/srv/lock", "log", 8, "tail").out, "line 99\n");
  assert.equal(read("/srv/lock", "log", 100_000, "tail").out.split("\n").length, 101);
});

test("refuses a link, a FIFO, a device behind a link and a folder reached through a link, at once and without reading", () => {
  assert.equal(read("/srv/lock", "link").status, READ_LINK);
  assert.equal(read("/srv/lock", "zero").status, READ_LINK);
  assert.equal(read("/srv/lock", "fifo").status, READ_NOT_REGULAR);
  assert.equal(read("/srv/linked", "holder.json").status, READ_LINK);
  assert.equal(read("/srv", "lock").status, READ_NOT_REGULAR);
  assert.equal(read("/srv/lock", "none").status, READ_MISSING);
  assert.equal(read("/srv/none", "holder.json").status, READ_MISSING);
  for (const name of ["link", "zero", "fifo"]) assert.equal(read("/srv/lock", name).out, "");
  assert.match(readRefusal(READ_LINK, "")!, /a symbolic link is on the way/);
  assert.equal(readRefusal(READ_MISSING, ""), "No such file or directory");
  assert.equal(readRefusal(1, "dd: failed to open 'x': Permission denied\n"), "Permission denied");
});

test("a server's own root is passed as nothing", () => {
  assert.equal(readRoot("/"), "");
  assert.equal(readRoot("/tmp/r/"), "/tmp/r");
  assert.equal(readRoot("/tmp/r//"), "/tmp/r");
});

test("each refusal of a read says why in words, and dd's own failure in its words without its prefix", () => {
  assert.deepEqual(
    [0, READ_MISSING, READ_LINK, READ_NOT_REGULAR, READ_DENIED].map((status) => readRefusal(status, "")),
    [
      undefined,
      "No such file or directory",
      "a symbolic link is on the way: gen does not read through a link it did not make",
      "not a regular file (a FIFO, a device, a folder): gen reads only regular files",
      "Permission denied",
    ],
  );
  assert.equal(readRefusal(1, "noise\ndd: error reading 'x': Input/output error\n"), "Input/output error");
  assert.equal(readRefusal(1, "dd: failed to open 'a': b': Is a directory"), "b': Is a directory");
  // Only dd's own prefix, at the start of its line, is cut.
  assert.equal(readRefusal(1, "sudo: dd: failed to open 'x': Denied"), "sudo: dd: failed to open 'x': Denied");
  assert.equal(readRefusal(9, ""), "the read failed (exit 9)");
});
