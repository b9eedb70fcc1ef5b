import assert from "node:assert/strict";
import { chown, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sshOptionsFor } from "../../test/support/ssh-options.js";
import { startSshd, type SshdHandle } from "../../test/support/sshd.js";
import { connectSsh } from "./ssh.js";
import { sudoList, sudoReadFile, sudoStat, type RunCommand } from "./sudo-read.js";
import type { Transport } from "./transport.js";

describe("ssh transport as root: sudo reads, many files, several servers", () => {
  let sshd: SshdHandle;
  let transport: Transport;
  before(async () => {
    sshd = await startSshd();
    transport = await connectSsh(sshOptionsFor(sshd, { sudo: true }));
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
  });
  const file = (serverPath: string) => join(sshd.rootDir, serverPath);
  const viaRunScript: RunCommand = async (command) => {
    const result = await transport.runScript(command);
    return { exitCode: result.exitCode, stdout: Buffer.from(result.stdout), stderr: Buffer.from(result.stderr) };
  };

  it("reads a root-only file with sudo enabled", async () => {
    await mkdir(file("/etc/ssl/private"), { recursive: true, mode: 0o700 });
    await writeFile(file("/etc/ssl/private/key.pem"), "secret\n", { mode: 0o600 });
    const result = await transport.readFile("/etc/ssl/private/key.pem");
    assert.equal(result.status === "ok" && result.file.content.toString(), "secret\n");
  });

  it("reads through `sudo -n stat` and `sudo -n cat` as the fallback does", async () => {
    await writeFile(file("/sudo-file"), "via sudo\n", { mode: 0o640 });
    await chown(file("/sudo-file"), 1, 1);
    await symlink("/sudo-file", file("/sudo-link"));
    assert.deepEqual(await sudoReadFile(viaRunScript, file("/sudo-file")), {
      status: "ok",
      file: { content: Buffer.from("via sudo\n"), stat: { type: "file", mode: "0640", owner: "daemon", group: "daemon", size: 9 } },
    });
    assert.deepEqual(await sudoReadFile(viaRunScript, file("/no-such")), { status: "missing" });
    const link = await sudoStat(viaRunScript, file("/sudo-link"));
    assert.equal(link.status === "ok" && link.stat.linkTarget, "/sudo-file");
    const listed = await sudoList(viaRunScript, sshd.rootDir);
    assert.ok(listed.status === "ok" && listed.names.includes("sudo-file"));
  });

  it("runs a command with sudo", async () => {
    const result = await transport.run(["id", "-un"], { sudo: true });
    assert.deepEqual(result, { exitCode: 0, stdout: "root\n", stderr: "" });
  });

  it("reads 500 small files in parallel over one connection", async (t) => {
    await mkdir(file("/many"), { recursive: true });
    const names = Array.from({ length: 500 }, (_, i) => `/many/file-${i}.conf`);
    await Promise.all(names.map((name, i) => writeFile(file(name), `value = ${i}\n`)));
    const started = performance.now();
    const results = await Promise.all(names.map((name) => transport.readFile(name)));
    const ms = Math.round(performance.now() - started);
    t.diagnostic(`read 500 files in ${ms} ms`);
    results.forEach((result, i) => assert.equal(result.status === "ok" && result.file.content.toString(), `value = ${i}\n`));
  });

  it("connects to three servers at once", async (t) => {
    const servers = await Promise.all([startSshd(), startSshd(), startSshd()]);
    try {
      const started = performance.now();
      const transports = await Promise.all(servers.map((server) => connectSsh(sshOptionsFor(server))));
      t.diagnostic(`3 concurrent connects in ${Math.round(performance.now() - started)} ms`);
      await Promise.all(servers.map((server, i) => writeFile(join(server.rootDir, "id"), `server ${i}\n`)));
      const contents = await Promise.all(transports.map((tr) => tr.readFile("/id")));
      assert.deepEqual(
        contents.map((c) => c.status === "ok" && c.file.content.toString()),
        ["server 0\n", "server 1\n", "server 2\n"],
      );
      await Promise.all(transports.map((tr) => tr.close()));
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });

  it("connects again (the time is a diagnostic: npm run bench measures it)", async (t) => {
    const started = performance.now();
    const again = await connectSsh(sshOptionsFor(sshd));
    const ms = Math.round(performance.now() - started);
    await again.close();
    t.diagnostic(`connect + SFTP ready in ${ms} ms`);
  });
});
