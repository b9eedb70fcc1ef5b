// Behaviour every Transport shares, run against the local transport and against SSH to a real sshd.
// The context's rootDir is the folder on this machine that the transport treats as the server's `/`.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import type { Transport, Uploader } from "../../src/transport/transport.js";

export interface ContractContext {
  transport: Transport;
  rootDir: string;
}

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

  /** The transport's uploader for the length of `body`, closed afterwards. */
  const uploading = async (body: (uploader: Uploader) => Promise<void>) => {
    const uploader = await context().transport.openUploader();
    try {
      await body(uploader);
    } finally {
      await uploader.close();
    }
  };

  it("keeps uploaded paths inside the root: .. cannot climb out", () =>
    uploading(async (uploader) => {
      await uploader.putFile("/../../inside", Buffer.from("in\n"), "0644");
      assert.equal(await readFile(file("/inside"), "utf8"), "in\n");
    }));

  it("uploads a file with exactly the mode asked, whatever the umask, also over an existing file", () =>
    uploading(async (uploader) => {
      await mkdir(file("/w/deep/er"), { recursive: true });
      await uploader.putFile("/w/deep/er/f", Buffer.from("hello\n"), "0664");
      assert.equal(await readFile(file("/w/deep/er/f"), "utf8"), "hello\n");
      assert.equal((await stat(file("/w/deep/er/f"))).mode & 0o7777, 0o664);
      await uploader.putFile("/w/deep/er/f", Buffer.from([0, 1, 2, 255]), "0600");
      assert.deepEqual(await readFile(file("/w/deep/er/f")), Buffer.from([0, 1, 2, 255]));
      assert.equal((await stat(file("/w/deep/er/f"))).mode & 0o7777, 0o600);
    }));

  it("uploads a folder's regular files whole, whatever their size, and its subfolders, made as needed, and no link; onFile once per file", () =>
    uploading(async (uploader) => {
      const local = await mkdtemp(join(tmpdir(), "gen-upload-"));
      try {
        await mkdir(join(local, "assets/js"), { recursive: true });
        await mkdir(join(local, "assets/img/icons"), { recursive: true });
        await writeFile(join(local, "index.html"), "<html>\n");
        for (let i = 0; i < 40; i++) await writeFile(join(local, "assets/js", `f${i}.js`), `${i}\n`);
        // Many write requests of the upload's, sent together: each lands at its place.
        const large = randomBytes(300 * 1024 + 7);
        await writeFile(join(local, "assets/img/icons/large.bin"), large);
        await writeFile(join(local, "assets/img/empty"), "");
        await symlink("/etc/passwd", join(local, "leak"));
        await mkdir(file("/up/public"), { recursive: true });
        let files = 0;
        await uploader.putFolder(local, "/up/public", () => void files++);
        assert.equal(files, 43);
        assert.equal(await readFile(file("/up/public/index.html"), "utf8"), "<html>\n");
        assert.equal(await readFile(file("/up/public/assets/js/f39.js"), "utf8"), "39\n");
        assert.deepEqual(await readFile(file("/up/public/assets/img/icons/large.bin")), large);
        assert.equal(await readFile(file("/up/public/assets/img/empty"), "utf8"), "");
        assert.equal(existsSync(file("/up/public/leak")), false, "a link was uploaded");
      } finally {
        await rm(local, { recursive: true, force: true });
      }
    }));

  it("stops a folder upload when onFile throws: that error, and not every file sent", () =>
    uploading(async (uploader) => {
      const local = await mkdtemp(join(tmpdir(), "gen-upload-"));
      try {
        for (let i = 0; i < 100; i++) await writeFile(join(local, `f${i}`), `${i}\n`);
        await mkdir(file("/stopped"), { recursive: true });
        let files = 0;
        const stop = new Error("stopped by request");
        await assert.rejects(
          uploader.putFolder(local, "/stopped", () => {
            if (++files === 3) throw stop;
          }),
          (error) => error === stop,
        );
        assert.ok(files < 100, `${files} files started`);
      } finally {
        await rm(local, { recursive: true, force: true });
      }
    }));

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
