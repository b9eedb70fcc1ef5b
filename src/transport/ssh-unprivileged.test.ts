import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sshOptionsFor } from "../../test/support/ssh-options.js";
import { startSshd, type SshdHandle } from "../../test/support/sshd.js";
import { connectSsh } from "./ssh.js";
import type { Transport } from "./transport.js";

describe("ssh transport as an unprivileged user (gen-test)", () => {
  let sshd: SshdHandle;
  let plain: Transport;
  let withSudo: Transport;
  before(async () => {
    sshd = await startSshd({ user: "gen-test" });
    [plain, withSudo] = await Promise.all([connectSsh(sshOptionsFor(sshd)), connectSsh(sshOptionsFor(sshd, { sudo: true }))]);
    // Made by the test process (root): gen-test may see these but not read them.
    await writeFile(join(sshd.rootDir, "root-only"), "secret\n", { mode: 0o600 });
    await mkdir(join(sshd.rootDir, "closed"), { mode: 0o700 });
    await writeFile(join(sshd.rootDir, "closed", "inner"), "secret\n", { mode: 0o644 });
  });
  after(async () => {
    await plain?.close();
    await withSudo?.close();
    await sshd?.stop();
  });

  it("reports a root-only file as unreadable, not missing", async () => {
    const result = await plain.readFile("/root-only");
    assert.equal(result.status, "unreadable");
    assert.match(result.status === "unreadable" ? result.reason : "", /permission denied for gen-test/);
  });

  it("reports a file in a folder it cannot enter as unreadable, not missing", async () => {
    assert.equal((await plain.readFile("/closed/inner")).status, "unreadable");
    await assert.rejects(plain.stat("/closed/inner"), { name: "GenError", message: /permission denied for gen-test/ });
    await assert.rejects(plain.list("/closed"), { name: "GenError", message: /cannot list \/closed: permission denied/ });
  });

  it("says sudo -n refused when sudo needs a password, still not missing", async () => {
    const result = await withSudo.readFile("/closed/inner");
    assert.equal(result.status, "unreadable");
    assert.match(result.status === "unreadable" ? result.reason : "", /sudo -n refused: sudo: a password is required/);
  });

  it("writes in its own folder, names itself as owner, and cannot write into root's", async () => {
    await plain.writeFile("/mine", "ok\n", "0640");
    assert.deepEqual(await plain.stat("/mine"), { type: "file", mode: "0640", owner: "gen-test", group: "gen-test", size: 3 });
    await assert.rejects(plain.writeFile("/closed/x", "no"), {
      name: "GenError",
      message: `gen-test@127.0.0.1:${sshd.port} (root ${sshd.rootDir}): cannot write /closed/x: permission denied for gen-test`,
    });
  });

  it("runs commands as gen-test", async () => {
    assert.equal((await plain.run(["id", "-un"])).stdout, "gen-test\n");
  });
});
