// Behaviour every Transport shares, run against the local transport and against SSH to a real sshd.
// The context's rootDir is the folder on this machine that the transport treats as the server's `/`.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "node:test";
import type { Transport } from "../../src/transport/transport.js";

export interface ContractContext {
  transport: Transport;
  rootDir: string;
}

// uid/gid 1 is "daemon" on Debian: an owner other than the one running the tests.
const OTHER_USER = { name: "daemon", id: 1 };

export const HOSTILE_ARGUMENTS = [
  "it's",
  `"double" and 'single'`,
  "$(touch PWNED)",
  "`touch PWNED`",
  "line one\nline two\n",
  "tab\there",
  "* ? [a-z] ~ ~root",
  "$HOME ${HOME} $1 $@",
  "; rm -rf / ; echo",
  "a && b || c | d & e",
  "back\\slash \\n",
  "!event !! ^x^y",
  "A=b",
  "-n",
  "--",
  "",
  " leading and trailing ",
  "ünïcødé ✓ 🐧",
  "'",
  "'\\''",
];

export function transportContract(context: () => ContractContext): void {
  const file = (serverPath: string) => join(context().rootDir, serverPath);

  it("reads a file's content, then its changed content", async () => {
    const { transport } = context();
    await mkdir(file("/etc/app"), { recursive: true });
    await writeFile(file("/etc/app/a.conf"), "one\n");
    const first = await transport.readFile("/etc/app/a.conf");
    assert.equal(first.status, "ok");
    assert.equal(first.status === "ok" && first.file.content.toString(), "one\n");
    await writeFile(file("/etc/app/a.conf"), "two\n");
    const second = await transport.readFile("/etc/app/a.conf");
    assert.equal(second.status === "ok" && second.file.content.toString(), "two\n");
  });

  it("reports a missing file as missing, also under a missing folder or a file", async () => {
    const { transport } = context();
    await writeFile(file("/plain"), "x");
    for (const path of ["/no-such-file", "/no/such/folder/file", "/plain/below-a-file"]) {
      assert.deepEqual(await transport.readFile(path), { status: "missing" }, path);
      assert.equal(await transport.stat(path), undefined, path);
    }
  });

  it("reports mode, owner, group and size", async () => {
    const { transport } = context();
    await writeFile(file("/owned"), "12345");
    await chmod(file("/owned"), 0o640);
    await chown(file("/owned"), OTHER_USER.id, OTHER_USER.id);
    const result = await transport.readFile("/owned");
    assert.equal(result.status, "ok");
    const expected = { type: "file", mode: "0640", owner: OTHER_USER.name, group: OTHER_USER.name, size: 5 };
    assert.deepEqual(result.status === "ok" && result.file.stat, expected);
    assert.deepEqual(await transport.stat("/owned"), expected);
  });

  it("reports a symlink as a symlink with its target, not the target's content", async () => {
    const { transport } = context();
    await symlink("/etc/target-elsewhere", file("/link"));
    const result = await transport.readFile("/link");
    assert.equal(result.status, "ok");
    if (result.status !== "ok") return;
    assert.equal(result.file.stat.type, "symlink");
    assert.equal(result.file.stat.linkTarget, "/etc/target-elsewhere");
    assert.equal(result.file.content.length, 0);
  });

  it("keeps paths inside the root: .. cannot climb out", async () => {
    const { transport } = context();
    assert.deepEqual(await transport.readFile("/../../../etc/hostname-not-in-root"), { status: "missing" });
    await writeFile(file("/inside"), "in");
    const result = await transport.readFile("/../inside");
    assert.equal(result.status === "ok" && result.file.content.toString(), "in");
  });

  it("lists a folder sorted, and a missing folder as empty", async () => {
    const { transport } = context();
    await mkdir(file("/listed"), { recursive: true });
    for (const name of ["b", "a", "c.d"]) await writeFile(file(`/listed/${name}`), "");
    assert.deepEqual(await transport.list("/listed"), ["a", "b", "c.d"]);
    assert.deepEqual(await transport.list("/not-there"), []);
  });

  it("writes content with exactly the mode asked, whatever the umask, also over an existing file", async () => {
    const { transport } = context();
    await mkdir(file("/w/deep/er"), { recursive: true });
    await transport.writeFile("/w/deep/er/f", "hello\n", "0664");
    assert.equal(await readFile(file("/w/deep/er/f"), "utf8"), "hello\n");
    assert.equal((await stat(file("/w/deep/er/f"))).mode & 0o7777, 0o664);
    await transport.writeFile("/w/deep/er/f", Buffer.from([0, 1, 2, 255]), "0600");
    assert.deepEqual(await readFile(file("/w/deep/er/f")), Buffer.from([0, 1, 2, 255]));
    assert.equal((await stat(file("/w/deep/er/f"))).mode & 0o7777, 0o600);
  });

  it("renames over an existing file", async () => {
    const { transport } = context();
    await writeFile(file("/target"), "old");
    await writeFile(file("/target.gen-tmp"), "new");
    await transport.rename("/target.gen-tmp", "/target");
    assert.equal(await readFile(file("/target"), "utf8"), "new");
    assert.equal(existsSync(file("/target.gen-tmp")), false);
  });

  it("runs a command: exit code, stdout and stderr", async () => {
    const { transport } = context();
    const result = await transport.run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.deepEqual(result, { exitCode: 3, stdout: "out\n", stderr: "err\n" });
  });

  it("feeds stdin, runs in a cwd mapped into the root, and exports GEN_ROOT", async () => {
    const { transport, rootDir } = context();
    await mkdir(file("/srv/app"), { recursive: true });
    const result = await transport.run(["sh", "-c", 'cat; pwd; echo "$GEN_ROOT"'], { stdin: "input\n", cwd: "/srv/app" });
    assert.equal(result.stdout, `input\n${join(rootDir, "srv/app")}\n${rootDir}\n`);
  });

  it("streams output as it arrives", async () => {
    const { transport } = context();
    const chunks: string[] = [];
    await transport.run(["sh", "-c", "echo a; echo b >&2"], { onOutput: (chunk, stream) => chunks.push(`${stream}:${chunk}`) });
    assert.deepEqual(chunks.sort(), ["stderr:b\n", "stdout:a\n"]);
  });

  it("passes hostile arguments through byte for byte, never as shell syntax", async () => {
    const { transport, rootDir } = context();
    await mkdir(file("/q"), { recursive: true });
    const result = await transport.run(["printf", "%s\\0", ...HOSTILE_ARGUMENTS], { cwd: "/q" });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(result.stdout.split("\0").slice(0, -1), HOSTILE_ARGUMENTS);
    assert.equal(existsSync(join(rootDir, "q", "PWNED")), false);
  });

  it("runs a script with a pipeline, with sudo as the owner", async () => {
    const { transport } = context();
    const result = await transport.runScript("printf 'b\\na\\n' | sort | tr '\\n' ,", { sudo: true });
    assert.deepEqual(result, { exitCode: 0, stdout: "a,b,", stderr: "" });
  });

  it("reports a command that does not exist as exit 127", async () => {
    const { transport } = context();
    const result = await transport.run(["gen-no-such-command"]);
    assert.equal(result.exitCode, 127);
    assert.match(result.stderr, /not found|No such file/);
  });
}
