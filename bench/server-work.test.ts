import assert from "node:assert/strict";
import { test } from "node:test";
import { countPrograms, describePrograms, totalPrograms } from "./server-work.js";

test("countPrograms counts successful execve calls by name, whole or cut in two by another process", () => {
  const trace = [
    '101 execve("/usr/sbin/sshd", ["sshd", "-R"], 0x7ffd /* 3 vars */) = 0',
    '102 execve("/bin/bash", ["bash", "-c", "cat /etc/x"], 0x55 /* 9 vars */) = 0',
    '103 execve("/usr/bin/cat", ["cat", "/etc/x"], 0x55 /* 9 vars */ <unfinished ...>',
    '104 execve("/usr/bin/head", ["head"], 0x55 /* 9 vars */) = 0',
    "103 <... execve resumed>) = 0",
    '105 execve("/usr/local/bin/nope", ["nope"], 0x55 /* 9 vars */) = -1 ENOENT (No such file or directory)',
    '106 execve("/usr/bin/cat", ["cat"], 0x55 /* 9 vars */ <unfinished ...>',
    "106 <... execve resumed>) = -1 EACCES (Permission denied)",
    "106 +++ exited with 0 +++",
  ].join("\n");
  const counts = countPrograms(trace);
  assert.deepEqual(Object.fromEntries(counts), { bash: 1, cat: 1, head: 1 });
  assert.equal(totalPrograms(counts), 3);
  assert.equal(describePrograms(counts), "bash 1, cat 1, head 1");
});
