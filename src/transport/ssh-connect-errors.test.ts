import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sshOptionsFor } from "../../test/support/ssh-options.js";
import { freePort, startSilentServer, startSshd, type SshdHandle } from "../../test/support/sshd.js";
import { startTcp } from "./tcp.js";
import { connectSsh } from "./ssh.js";

describe("ssh connection failures and key sources", () => {
  let sshd: SshdHandle;
  before(async () => {
    sshd = await startSshd();
  });
  after(() => sshd?.stop());

  const newKey = (name: string, passphrase = "") => {
    const path = join(sshd.tempDir, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-f", path]);
    return path;
  };
  const encryptedClientKey = async (name: string) => {
    const path = join(sshd.tempDir, name);
    await copyFile(sshd.clientKeyPath, path);
    await chmod(path, 0o600);
    execFileSync("ssh-keygen", ["-q", "-p", "-N", "open sesame", "-f", path]);
    return path;
  };

  it("reports a key the server does not accept as rejected, naming the key", async () => {
    const wrong = newKey("wrong_key");
    await assert.rejects(connectSsh(sshOptionsFor(sshd, { identityFiles: [wrong] })), (error: Error) => {
      assert.equal(error.message, `root@127.0.0.1:${sshd.port} rejected the key: offered ${wrong}`);
      return true;
    });
  });

  it("asks for the passphrase of an encrypted key", async () => {
    const path = await encryptedClientKey("encrypted_key");
    const asked: string[] = [];
    const passphrase = async (keyPath: string) => {
      asked.push(keyPath);
      return "open sesame";
    };
    // Decrypting the key (bcrypt KDF) is CPU work: a generous timeout keeps a loaded machine from failing this.
    const transport = await connectSsh(sshOptionsFor(sshd, { identityFiles: [path], passphrase, connectTimeoutMs: 120_000 }));
    await transport.close();
    assert.deepEqual(asked, [path]);
  });

  it("gives up on a wrong passphrase after three tries and says so", async () => {
    const path = await encryptedClientKey("encrypted_key_2");
    let asked = 0;
    const passphrase = async () => (asked++, "wrong");
    await assert.rejects(connectSsh(sshOptionsFor(sshd, { identityFiles: [path], passphrase })), (error: Error & { details: string[] }) => {
      assert.match(error.message, /^no usable SSH key for root@127\.0\.0\.1:\d+/);
      assert.ok(error.details.includes(`${path}: wrong passphrase`), error.details.join("\n"));
      return true;
    });
    assert.equal(asked, 3);
  });

  it("uses the keys in ssh-agent", async (t) => {
    const socket = join(sshd.tempDir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    t.after(() => void process.kill(agent.pid!, "SIGTERM"));
    await waitFor(() => tryRun("ssh-add", [sshd.clientKeyPath], { SSH_AUTH_SOCK: socket }));
    const transport = await connectSsh(sshOptionsFor(sshd, { identityFiles: [], agent: socket }));
    assert.equal((await transport.run(["true"])).exitCode, 0);
    await transport.close();
  });

  it("reports a server that is down as connection refused", async () => {
    const port = await freePort();
    await assert.rejects(connectSsh({ ...sshOptionsFor(sshd), port }), {
      name: "GenError",
      message: new RegExp(`^cannot connect to root@127\\.0\\.0\\.1:${port}: connection refused`),
    });
  });

  it("reports connection refused for a connection started early that failed before ssh2 took it", async () => {
    const port = await freePort();
    const tcp = startTcp("127.0.0.1", port);
    await new Promise((closed) => tcp.socket.once("close", closed));
    await assert.rejects(connectSsh({ ...sshOptionsFor(sshd), port, tcp }), {
      name: "GenError",
      message: new RegExp(`^cannot connect to root@127\\.0\\.0\\.1:${port}: connection refused`),
    });
  });

  it("closes a connection started early when gen gives up before using it (no key to offer)", async () => {
    const tcp = startTcp("127.0.0.1", sshd.port);
    await assert.rejects(connectSsh({ ...sshOptionsFor(sshd), identityFiles: [], agent: false, tcp }), /no SSH key to offer/);
    assert.ok(tcp.socket.destroyed, "the early socket is closed, so gen can exit");
  });

  it("times out on a server that accepts and never answers", async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      await assert.rejects(connectSsh({ ...sshOptionsFor(sshd), port: silent.port, connectTimeoutMs: 1500 }), {
        name: "GenError",
        message: new RegExp(`^no answer from 127\\.0\\.0\\.1:${silent.port} within 1\\.5 s`),
      });
      // Only the lower bound holds on a loaded machine: the timeout never fires early. How late it fires is
      // the clock's business (tested below with a fake clock) and the machine's (npm run bench).
      assert.ok(Date.now() - started >= 1400, "gave up before the timeout");
    } finally {
      await silent.stop();
    }
  });

  it("says when there is no key at all to offer", async () => {
    await assert.rejects(connectSsh(sshOptionsFor(sshd, { identityFiles: [] })), /^GenError: no SSH key to offer|no SSH key to offer/);
  });
});

function tryRun(command: string, args: string[], env: Record<string, string>): boolean {
  try {
    execFileSync(command, args, { env: { ...process.env, ...env }, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Polls until ready; the bound is generous so that a loaded machine still gets there. */
async function waitFor(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("timed out waiting");
}
