import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sshOptionsFor } from "../../test/support/ssh-options.js";
import { startSshd, type SshdHandle } from "../../test/support/sshd.js";
import { connectSsh } from "./ssh.js";
import type { Transport } from "./transport.js";

describe("ssh transport as root: sudo, several servers", () => {
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

  it("runs a command with sudo", async () => {
    const result = await transport.run(["id", "-un"], { sudo: true });
    assert.deepEqual(result, { exitCode: 0, stdout: "root\n", stderr: "" });
  });

  it("connects to three servers at once", async (t) => {
    const servers = await Promise.all([startSshd(), startSshd(), startSshd()]);
    try {
      const started = performance.now();
      const transports = await Promise.all(servers.map((server) => connectSsh(sshOptionsFor(server))));
      t.diagnostic(`3 concurrent connects in ${Math.round(performance.now() - started)} ms`);
      await Promise.all(servers.map((server, i) => writeFile(join(server.rootDir, "id"), `server ${i}\n`)));
      const contents = await Promise.all(transports.map((tr, i) => tr.run(["cat", join(servers[i]!.rootDir, "id")])));
      assert.deepEqual(
        contents.map((c) => c.stdout),
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
    t.diagnostic(`connect in ${ms} ms`);
  });
});
