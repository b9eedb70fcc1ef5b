// A file gen could not read is never "in sync": configuration applied by an administrator (root over a second
// sshd on the same root), then apply and deploy run as gen-test without sudo, which cannot read the sudoers
// drop-in (0440 root). Both stop, naming the file and the account apply needs.
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startSshd } from "../support/sshd.js";
import { createSampleApp } from "./deploy-support/sample-app.js";
import { startGenServer } from "./support/gen-server.js";

describe("files gen cannot read", () => {
  it("apply and deploy as a user without sudo stop at the unreadable sudoers drop-in instead of saying in sync", async () => {
    const server = await startGenServer({ user: "gen-test" });
    const admin = await startSshd({ user: "root" });
    try {
      await copyFile(`${server.sshd.clientKeyPath}.pub`, join(admin.tempDir, "authorized_keys"));
      const knownHosts = join(server.tempDir, "admin_known_hosts");
      await writeFile(knownHosts, (await readFile(server.sshd.knownHostsPath, "utf8")) + (await readFile(admin.knownHostsPath, "utf8")));
      await server.writeEnv({ server: { port: admin.port, sshUser: "root", useSudo: true } });
      const applied = await server.gen(["apply", "t", "--yes"], { knownHosts });
      assert.equal(applied.code, 0, applied.all);

      await server.writeEnv();
      const apply = await server.gen(["apply", "t", "--yes"], { knownHosts });
      assert.equal(apply.code, 1, apply.all);
      assert.doesNotMatch(apply.all, /in sync/);
      assert.match(apply.err, /1 file of t could not be read, so gen cannot compare it with the environment; nothing was changed/);
      assert.match(apply.err, /127\.0\.0\.1: \/etc\/sudoers\.d\/tsosi/);
      assert.match(
        apply.err,
        /server\.useSudo is false, so apply reads as gen-test alone: set server\.useSudo: true and server\.sshUser to an administrator account/,
      );

      // useSudo on, for an account sudo refuses: sudo's own answer, not "useSudo is off".
      await server.writeEnv({ server: { useSudo: true } });
      const refused = await server.gen(["apply", "t", "--yes"], { knownHosts });
      assert.equal(refused.code, 1, refused.all);
      assert.match(
        refused.err,
        /\/etc\/sudoers\.d\/tsosi \(permission denied for gen-test@127\.0\.0\.1:\d+ .*\(`sudo -n` was refused: sudo: a password is required\)\)/,
      );
      assert.doesNotMatch(refused.all, /useSudo is (off|false)/);
      await server.writeEnv();

      const app = await createSampleApp(server.tempDir);
      await mkdir(join(app.checkout, "frontend/dist"), { recursive: true });
      await writeFile(join(app.checkout, "frontend/dist/index.html"), "<html>\n");
      await server.writeEnv({ release: { repository: app.bare } });
      await server.clearRecorded();
      const deploy = await server.gen(["deploy", "t", "--yes", "--repo", app.checkout, "--skip-front-build"], { knownHosts });
      assert.equal(deploy.code, 1, deploy.all);
      assert.doesNotMatch(deploy.all, /in sync/);
      assert.match(deploy.err, /could not be read, so gen cannot compare it with the environment/);
      assert.doesNotMatch(deploy.all, /\[4\/\d\] lock/, "no release step ran");
      assert.deepEqual(await server.recorded(), []);
    } finally {
      await admin.stop();
      await server.stop();
    }
  });
});
