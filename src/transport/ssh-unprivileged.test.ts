import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sshOptionsFor } from "../../test/support/ssh-options.js";
import { startSshd, type SshdHandle } from "../../test/support/sshd.js";
import { connectSsh } from "./ssh.js";
import type { Transport } from "./transport.js";

describe("ssh transport as an unprivileged user (gen-test)", () => {
  let sshd: SshdHandle;
  let plain: Transport;
  before(async () => {
    sshd = await startSshd({ user: "gen-test" });
    plain = await connectSsh(sshOptionsFor(sshd));
    // Made by the test process (root): gen-test cannot write into it.
    await mkdir(join(sshd.rootDir, "closed"), { mode: 0o700 });
  });
  after(async () => {
    await plain?.close();
    await sshd?.stop();
  });

  it("writes in its own folder, names itself as owner, and cannot write into root's", async () => {
    const uploader = await plain.openUploader();
    try {
      await uploader.putFile("/mine", Buffer.from("ok\n"), "0640");
      const mine = await stat(join(sshd.rootDir, "mine"));
      const genTest = spawnSync("id", ["-u", "gen-test"], { encoding: "utf8" }).stdout.trim();
      assert.deepEqual([mine.mode & 0o7777, String(mine.uid), mine.size], [0o640, genTest, 3]);
      await assert.rejects(uploader.putFile("/closed/x", Buffer.from("no"), "0644"), (error: Error) => {
        assert.equal(error.name, "GenError");
        assert.ok(error.message.startsWith(`gen-test@127.0.0.1:${sshd.port} (root ${sshd.rootDir}): cannot write /closed/x: `), error.message);
        assert.match(error.message, /[Pp]ermission denied/);
        return true;
      });
    } finally {
      await uploader.close();
    }
  });

  it("runs commands as gen-test", async () => {
    assert.equal((await plain.run(["id", "-un"])).stdout, "gen-test\n");
  });
});
