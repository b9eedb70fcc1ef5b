// The remote session over a real OpenSSH server: what a local user of the server can see of it, and what it leaves
// on the server's disk when its connection is cut while a step's input is on its way.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { describe, it } from "node:test";
import { connectSsh } from "../../src/transport/ssh.js";
import { startCuttingProxy } from "../support/cutting-proxy.js";
import { sshOptionsFor } from "../support/ssh-options.js";
import { startSshd } from "../support/sshd.js";

/** The processes of this machine whose file at /proc/<pid>/<name> holds `needle` (as root: everyone's). */
function processesHolding(name: "cmdline" | "environ", needle: string): string[] {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .flatMap((pid) => {
      try {
        const text = readFileSync(`/proc/${pid}/${name}`, "latin1");
        return text.includes(needle) ? [`${pid}: ${text.replaceAll("\0", " ").slice(0, 200)}`] : [];
      } catch {
        return [];
      }
    });
}

describe("the remote session over a real sshd", { timeout: 120_000 }, () => {
  it("keeps the token that frames root's records off every command line on the server, where ps shows it to anyone", async () => {
    const sshd = await startSshd();
    const transport = await connectSsh(sshOptionsFor(sshd, { sudo: true }));
    try {
      for (const sudo of [true, false]) {
        const [run] = await transport.steps([{ name: "reading the token", script: `printf '%s' "$tok"` }], { sudo });
        const token = run!.stdout.toString("utf8");
        assert.match(token, /^gen-[0-9a-f]{32}$/);
        // The session still runs (its shell waits for the next step): the token is in no process's argv.
        assert.deepEqual(processesHolding("cmdline", token), [], `sudo: ${sudo}`);
      }
    } finally {
      await transport.close();
      await sshd.stop();
    }
  });

  it("leaves none of a step's input on the server's disk when the connection is cut while the input arrives", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "gen-session-scratch-"));
    // The session's TMPDIR (one SetEnv line: sshd takes the first), where `mktemp` makes its folders.
    const sshd = await startSshd({ loginShellRc: true, config: [`SetEnv SHLVL=1 TMPDIR=${scratch}`] });
    const proxy = await startCuttingProxy({ host: sshd.host, port: sshd.port });
    try {
      const knownHosts = join(sshd.tempDir, "known_hosts_proxy");
      await writeFile(knownHosts, readFileSync(sshd.knownHostsPath, "utf8").replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${proxy.port}`));
      const transport = await connectSsh(sshOptionsFor(sshd, { port: proxy.port, knownHostsPaths: [knownHosts] }));
      const [started] = await transport.steps([{ name: "starting", script: `printf '%s' "$TMPDIR"` }]);
      assert.equal(started!.stdout.toString("utf8"), scratch);

      const marker = `SECRET_KEY = '${randomBytes(16).toString("hex")}'\n`;
      const input = Buffer.concat([Buffer.from(marker), randomBytes(4 * 1024 * 1024)]);
      proxy.reset(512 * 1024);
      await assert.rejects(transport.steps([{ name: "staging the changed files", script: "cat >/dev/null", stdin: input }]));
      await transport.close().catch(() => {});

      // The server's side of the session ends on its own once it sees the cut: wait for its last process.
      for (let i = 0; i < 100 && processesHolding("environ", `TMPDIR=${scratch}`).length > 0; i++) await delay(100);
      assert.deepEqual(processesHolding("environ", `TMPDIR=${scratch}`), [], "the session's processes are still running");
      const left = await readdir(scratch, { recursive: true });
      assert.deepEqual(left, [], `left in the session's TMPDIR: ${left.join(", ")}`);
    } finally {
      await proxy.stop();
      await sshd.stop();
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
