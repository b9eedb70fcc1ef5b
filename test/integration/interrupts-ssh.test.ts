// gen apply of 1500 files over the loopback sshd, stopped by a signal at points spread over a run
// (support/apply-interrupts.ts): each run leaves the set whole-old or whole-new, no lock and no staged file, says
// which, and ends by the signal once it did its part (or, before any host was being changed, at once). Two
// points decide their outcome here: the reload of nginx under way (the systemctl stand-in waits until gen said it is
// stopping): finished; the same reload then failing: restored. A second Ctrl-C stops gen at once and drops the
// connection: the install program on the server, its output gone, puts back what it moved.
import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runInterrupted } from "../support/interrupted-run.js";
import { startGenServer, trustAllHosts, type GenServer } from "./support/gen-server.js";
import { files, secondCtrlC, spreadRuns, useVersion, type Point, type Target } from "./support/apply-interrupts.js";

describe("gen apply interrupted, over SSH", { timeout: 30 * 60_000 }, () => {
  let server: GenServer;
  let target: Target;
  before(async () => {
    server = await startGenServer();
    await server.writeEnv({ files });
    const connect = ["--environments", server.envDir, "--known-hosts", server.sshd.knownHostsPath, "--identity", server.sshd.clientKeyPath];
    target = {
      host: "127\\.0\\.0\\.1",
      args: (command) => [...command.slice(0, 1), "t", ...connect, ...command.slice(1)],
      file: server.file,
      template: join(server.envDir, "many.njk"),
    };
    useVersion(target, "A");
    const first = await runInterrupted(target.args(["apply", "--yes"]), []);
    assert.equal(first.code, 0, first.err);
  });
  after(async () => {
    await server?.stop();
  });

  /** The reload of nginx waits (the systemctl stand-in, as root) until gen said it is stopping; `fails`: then fails. */
  const duringReload = (fails: boolean): Point => {
    const waiting = () => join(server.tempDir, "reload-waiting");
    const go = () => join(server.tempDir, "reload-go");
    const signal = fails ? "SIGTERM" : "SIGINT";
    return {
      name: `the reload of nginx under way${fails ? ", then failing" : ""}`,
      signal,
      ending: fails ? "restored" : "finished",
      setUp: async () => {
        rmSync(waiting(), { force: true });
        rmSync(go(), { force: true });
        await server.runOn("reload nginx.service", `touch '${waiting()}'; i=0; while [ ! -e '${go()}' ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done`);
        if (fails) await server.failOn("reload nginx.service", { once: true });
      },
      tearDown: async () => {
        await server.runOn(undefined);
        await server.failOn(undefined);
      },
      interruptions: () => [
        { at: { when: () => existsSync(waiting()) }, signal },
        { at: { output: new RegExp(`^gen: ${signal}: stopping`, "m") }, run: () => writeFileSync(go(), "") },
      ],
    };
  };

  it("leaves the set whole-old or whole-new, no lock, and says which, at every point of a run", async (t) => {
    await spreadRuns(target, [duringReload(false), duringReload(true)], (text) => t.diagnostic(text));
  });

  it("stops at once on a second Ctrl-C; the install is put back or finished, and the next apply takes the lock over", async (t) => {
    await secondCtrlC(target, (text) => t.diagnostic(text));
  });
});

describe("gen apply interrupted on two hosts, one at a time", { timeout: 10 * 60_000 }, () => {
  it("the host under way finishes, the next one is not started, and each says so", async () => {
    const server = await startGenServer({ hosts: 2 });
    try {
      await trustAllHosts(server);
      await server.writeEnv({ files: files.slice(0, 300) });
      writeFileSync(join(server.envDir, "many.njk"), "file {{ i }} version A\n");
      const connect = ["--environments", server.envDir, "--known-hosts", join(server.tempDir, "known_hosts"), "--identity", server.sshd.clientKeyPath];
      const run = await runInterrupted(
        ["apply", "t", ...connect, "--yes", "--concurrency", "1"],
        [{ at: { output: /^a: staging \d+ files/m }, signal: "SIGINT" }],
      );
      assert.equal(run.signal, "SIGINT", run.err);
      assert.match(run.err, /^gen: SIGINT: stopping\. No new step starts; a finishes or undoes the step under way, then releases gen's lock/m);
      assert.match(run.out, /^a: applied 310 files \(SIGINT came once the install had begun: finished\)/m);
      assert.match(run.err, /^b: not started: interrupted \(SIGINT\); nothing was changed on it$/m);
      assert.equal(existsSync(server.file("/var/lib/gen/tsosi/locks/lock")), false);
    } finally {
      await server.stop();
    }
  });
});
