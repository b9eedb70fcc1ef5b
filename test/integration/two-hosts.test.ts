// Two hosts on one address, told apart by port (port forwards, containers): two real sshds on 127.0.0.1, each
// over its own root. Every host is keyed by its name (default: address, with the port when the address is
// shared), and a worker-only host never restarts Gunicorn or reloads nginx in apply, deploy and rollback.
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startSshd, type SshdHandle } from "../support/sshd.js";
import { runGen, runGenBin } from "../support/run-gen.js";
import {
  afterRelease,
  CURRENT,
  ENV_NAME,
  SETTINGS,
  WEB_RESTARTS,
  WORKER_RESTARTS,
  withDeployServer,
  type DeployServer,
} from "./deploy-support/deploy-server.js";

interface TwoHosts {
  server: DeployServer;
  second: SshdHandle;
  gen: (args: string[]) => ReturnType<typeof runGen>;
  /** The same command line through the shipped bin. */
  bin: (args: string[]) => ReturnType<typeof runGenBin>;
}

/** The deploy server as host "web" plus a second sshd on 127.0.0.1 as the worker, logged into with the same key. */
async function withTwoHosts(roles: { first: string[]; second: string[] }, work: (hosts: TwoHosts) => Promise<void>, names = true): Promise<void> {
  await withDeployServer(async (server) => {
    const second = await startSshd({ user: "root" });
    try {
      await copyFile(`${server.sshd.clientKeyPath}.pub`, join(second.tempDir, "authorized_keys"));
      await mkdir(join(second.rootDir, "lib/systemd/system"), { recursive: true });
      for (const unit of ["nginx.service", "redis-server.service"])
        await writeFile(join(second.rootDir, "lib/systemd/system", unit), "[Unit]\nDescription=stub\n");
      const knownHosts = join(second.tempDir, "both_known_hosts");
      await writeFile(knownHosts, (await readFile(server.sshd.knownHostsPath, "utf8")) + (await readFile(second.knownHostsPath, "utf8")));
      await server.writeEnv({
        server: {
          hosts: [
            { ...(names ? { name: "web" } : {}), host: "127.0.0.1", port: server.sshd.port, root: server.root, roles: roles.first },
            { ...(names ? { name: "worker" } : {}), host: "127.0.0.1", port: second.port, root: second.rootDir, roles: roles.second },
          ],
        },
        checks: { skip: ["gunicorn", "nginx", "static", "media", "celery", "certificate"] },
      });
      const connect = ["--environments", server.envDir, "--known-hosts", knownHosts, "--identity", server.sshd.clientKeyPath];
      const gen = (args: string[]) => runGen([...args, ...connect]);
      const bin = (args: string[]) => runGenBin([...args, ...connect]);
      await work({ server, second, gen, bin });
    } finally {
      await second.stop();
    }
  });
}

const both = { first: ["web", "worker"], second: ["web", "worker"] };

describe("two hosts on 127.0.0.1", { concurrency: 2 }, () => {
  it("without names, each host is 127.0.0.1:<port>: apply reaches both, and a file changed on the second is not hidden by the first", () =>
    withTwoHosts(
      both,
      async ({ server, second, gen }) => {
        const applied = await gen(["apply", ENV_NAME, "--yes"]);
        assert.equal(applied.code, 0, applied.all);
        await stat(server.file(SETTINGS));
        await stat(join(second.rootDir, SETTINGS));
        assert.match(applied.all, new RegExp(`127\\.0\\.0\\.1:${server.sshd.port}: staging`));
        assert.match(applied.all, new RegExp(`127\\.0\\.0\\.1:${second.port}: staging`));

        await writeFile(join(second.rootDir, SETTINGS), "# edited on the second host\n");
        const diff = await gen(["diff", ENV_NAME, "--stat"]);
        assert.equal(diff.code, 2, diff.all);
        assert.match(diff.out, new RegExp(`# 127\\.0\\.0\\.1:${second.port} `));
        const again = await gen(["apply", ENV_NAME, "--yes"]);
        assert.equal(again.code, 0, again.all);
        assert.doesNotMatch(again.all, /in sync/);
        assert.match(await readFile(join(second.rootDir, SETTINGS), "utf8"), /^SECRET_KEY = /m);
        const synced = await gen(["apply", ENV_NAME, "--yes"]);
        assert.match(synced.all, /nothing to do: t is in sync/);
      },
      false,
    ));

  it("refuses two hosts with the same name, naming the field", () =>
    withDeployServer(async (server) => {
      await server.writeEnv({
        server: {
          hosts: [
            { name: "a", host: "127.0.0.1", port: 22 },
            { name: "a", host: "127.0.0.2", port: 22 },
          ],
        },
      });
      const run = await runGen(["validate", ENV_NAME, "--no-tools", "--environments", server.envDir]);
      assert.equal(run.code, 1, run.all);
      assert.match(run.err, /server\.hosts\.1\.name: host name a is also the name of hosts\[0\]/);
    }));

  it("a worker-only host never restarts Gunicorn or reloads nginx: apply, deploy and rollback", () =>
    withTwoHosts({ first: ["web"], second: ["worker"] }, async ({ server, second, gen }) => {
      const worker = () => server.recordedUnder(second.pid);
      const web = () => server.recordedUnder(server.sshd.pid);
      // A release is live on the worker: apply restarts the application's units only then.
      await mkdir(join(second.rootDir, "var/www/releases/20260101T000000Z/backend"), { recursive: true });
      await symlink("releases/20260101T000000Z", join(second.rootDir, "var/www/current"));
      const applied = await gen(["apply", ENV_NAME, "--yes"]);
      assert.equal(applied.code, 0, applied.all);
      assert.ok(
        (await worker()).some((l) => /restart tsosi_celery\.service/.test(l)),
        `the worker restarted Celery: ${(await worker()).join("; ")}`,
      );
      assert.deepEqual(
        (await worker()).filter((l) => /nginx|gunicorn/.test(l)),
        [],
        "apply on the worker",
      );
      assert.deepEqual(
        (await web()).filter((l) => /celery/.test(l)),
        [],
        "apply on the web host",
      );

      await server.clearRecorded();
      const deploy = await gen(["deploy", ENV_NAME, "--yes", "--repo", server.app.checkout]);
      assert.equal(deploy.code, 0, deploy.all);
      assert.deepEqual(await worker(), WORKER_RESTARTS);
      assert.deepEqual(await web(), WEB_RESTARTS);
      await stat(join(second.rootDir, CURRENT));

      await afterRelease(await server.live());
      const again = await gen(["deploy", ENV_NAME, "--yes", "--repo", server.app.checkout]);
      assert.equal(again.code, 0, again.all);
      await server.clearRecorded();
      const back = await gen(["rollback", ENV_NAME]);
      assert.equal(back.code, 0, back.all);
      assert.deepEqual(await worker(), WORKER_RESTARTS);
      assert.deepEqual(await web(), WEB_RESTARTS);
    }));

  it("--hosts and --roles: deploy and rollback release on the hosts named, and never contact the others", () =>
    withTwoHosts({ first: ["web"], second: ["worker"] }, async ({ server, second, bin }) => {
      const sessions = async (logPath: string) => ((await readFile(logPath, "utf8")).match(/Starting session: /g) ?? []).length;
      const applied = await bin(["apply", ENV_NAME, "--yes"]);
      assert.equal(applied.code, 0, applied.all);
      const secondLive = async () => ((await readlink(join(second.rootDir, CURRENT)).catch(() => "")) as string).split("/").pop() ?? "";

      let webSessions = await sessions(server.sshd.logPath);
      const onWorker = await bin(["deploy", ENV_NAME, "--yes", "--repo", server.app.checkout, "--hosts", "worker"]);
      assert.equal(onWorker.code, 0, onWorker.all);
      assert.match(onWorker.out, /^worker: release \d{8}T\d{6}Z is live/m);
      assert.doesNotMatch(onWorker.all, /^web: /m);
      assert.equal(await server.live(), "", "no release on the web host");
      assert.equal(await sessions(server.sshd.logPath), webSessions, "the web host was not contacted");
      const workerRelease = await secondLive();
      assert.notEqual(workerRelease, "");

      await afterRelease(workerRelease);
      const first = await bin(["deploy", ENV_NAME, "--yes", "--repo", server.app.checkout, "--roles", "web"]);
      assert.equal(first.code, 0, first.all);
      await afterRelease(await server.live());
      const second_ = await bin(["deploy", ENV_NAME, "--yes", "--repo", server.app.checkout, "--roles", "web"]);
      assert.equal(second_.code, 0, second_.all);
      const newest = await server.live();
      assert.equal(await secondLive(), workerRelease, "the worker keeps its release");

      const workerSessions = await sessions(second.logPath);
      webSessions = await sessions(server.sshd.logPath);
      const back = await bin(["rollback", ENV_NAME, "--yes", "--hosts", "web"]);
      assert.equal(back.code, 0, back.all);
      assert.notEqual(await server.live(), newest, "the web host rolled back");
      assert.equal(await secondLive(), workerRelease, "the worker did not");
      assert.equal(await sessions(second.logPath), workerSessions, "the worker was not contacted");
      assert.ok((await sessions(server.sshd.logPath)) > webSessions);

      const unknown = await bin(["rollback", ENV_NAME, "--yes", "--hosts", "wrker"]);
      assert.equal(unknown.code, 2, unknown.all);
      assert.match(unknown.err, /^error: --hosts: t has no host "wrker"$/m);
      assert.match(unknown.err, /^ {2}t's hosts: web \(web\), worker \(worker\)$/m);
    }));
});
