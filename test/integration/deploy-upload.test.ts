// A deploy's front end goes up over SFTP on a connection of its own, opened beside the release's connection, made as
// every connection of gen's: the host key is checked on it too. Through the bin against the loopback sshd.
import assert from "node:assert/strict";
import { appendFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { genInTerminal } from "../support/in-terminal.js";
import { proxyJumpConfig, startSshd } from "../support/sshd.js";
import { startSwitchingProxy } from "../support/switching-proxy.js";
import { CURRENT, ENV_NAME, RELEASES, withDeployServer } from "./deploy-support/deploy-server.js";

/** The client ports of the sessions sshd started (after the log's first `from` characters), by kind: a command (exec) or the sftp subsystem. */
async function sessionPorts(logPath: string, from = 0): Promise<{ commands: Set<string>; sftp: Set<string> }> {
  const log = (await readFile(logPath, "utf8")).slice(from);
  const ports = (pattern: RegExp) => new Set([...log.matchAll(pattern)].map((m) => m[1]!));
  return {
    commands: ports(/Starting session: command for \S+ from \S+ port (\d+)/g),
    sftp: ports(/Starting session: subsystem 'sftp' for \S+ from \S+ port (\d+)/g),
  };
}

describe("gen deploy's front-end upload", () => {
  it("sends the dist folder over an SFTP connection of its own, which runs no command; files 0644, folders 0755", () =>
    withDeployServer(async (server) => {
      await server.writeEnv();
      const run = await server.deploy();
      assert.equal(run.code, 0, run.all);
      const release = (await server.releases()).at(-1)!;
      const publicDir = server.file(`${RELEASES}/${release}/public`);
      const dist = join(server.app.checkout, "frontend/dist");
      assert.equal(await readFile(join(publicDir, "index.html"), "utf8"), await readFile(join(dist, "index.html"), "utf8"));
      assert.deepEqual((await readdir(join(publicDir, "assets"))).sort(), (await readdir(join(dist, "assets"))).sort());
      assert.equal((await stat(join(publicDir, "assets/f300.js"))).mode & 0o777, 0o644);
      assert.equal((await stat(join(publicDir, "assets"))).mode & 0o777, 0o755);
      const { commands, sftp } = await sessionPorts(server.sshd.logPath);
      assert.equal(sftp.size, 1, `one SFTP connection expected, sshd saw ${[...sftp].join(", ") || "none"}`);
      assert.ok(commands.size > 0);
      for (const port of sftp) assert.ok(!commands.has(port), `the SFTP connection (port ${port}) also ran commands`);
    }));

  it("with --no-apply checks the configuration over the release's own connection: one for commands, one for SFTP", () =>
    withDeployServer(async (server) => {
      await server.writeEnv();
      const applied = await server.gen(["apply", ENV_NAME, "--yes"]);
      assert.equal(applied.code, 0, applied.all);
      const before = (await readFile(server.sshd.logPath, "utf8")).length;
      const run = await server.deploy("--no-apply");
      assert.equal(run.code, 0, run.all);
      const { commands, sftp } = await sessionPorts(server.sshd.logPath, before);
      assert.equal(commands.size, 1, `one command connection expected, sshd saw ${[...commands].join(", ")}`);
      assert.equal(sftp.size, 1);
    }));

  it("reaches the host through its ProxyJump like the command connections: the jump host sees every login", () =>
    withDeployServer(async (server) => {
      const jump = await startSshd();
      try {
        const config = join(server.sshd.tempDir, "ssh_config");
        await writeFile(config, proxyJumpConfig(server.sshd.port, jump));
        await appendFile(server.sshd.knownHostsPath, await readFile(jump.knownHostsPath, "utf8"));
        await server.writeEnv({ server: { host: "target" } });
        const run = await server.deploy("--ssh-config", config);
        assert.equal(run.code, 0, run.all);
        const logins = async (logPath: string) => (await readFile(logPath, "utf8")).match(/Accepted publickey/g)?.length ?? 0;
        const { commands, sftp } = await sessionPorts(server.sshd.logPath);
        assert.equal(sftp.size, 1);
        for (const port of sftp) assert.ok(!commands.has(port), `the SFTP connection (port ${port}) also ran commands`);
        // Each connection to the host went through one of its own to the jump host, the upload's included.
        assert.equal(await logins(jump.logPath), await logins(server.sshd.logPath));
      } finally {
        await jump.stop();
      }
    }));

  it("asks an encrypted key's passphrase once for all of a deploy's connections (configuration, release, upload)", () =>
    withDeployServer(async (server) => {
      const passphrase = "key-passphrase-6b1d9e";
      await promisify(execFile)("ssh-keygen", ["-p", "-q", "-f", server.sshd.clientKeyPath, "-P", "", "-N", passphrase]);
      await server.writeEnv();
      const args = server.argv(["deploy", ENV_NAME, "--yes", "--repo", server.app.checkout]);
      const run = await genInTerminal(args, { cwd: server.app.checkout, prompt: "passphrase for", answer: passphrase, env: { SSH_AUTH_SOCK: undefined } });
      assert.equal(run.exit, 0, run.out);
      assert.equal(run.asked, 1, `asked ${run.asked} times:\n${run.out}`);
      assert.equal((await sessionPorts(server.sshd.logPath)).sftp.size, 1);
    }));

  it("checks the host key of the upload connection: a server with another key is refused, the release removed", () =>
    withDeployServer(async (server) => {
      // The configuration's connection, which the release uses too (both log in as root), goes to the deploy server;
      // the upload connection, opened beside it, to an impostor.
      const impostor = await startSshd();
      const proxy = await startSwitchingProxy(server.sshd, impostor, 1);
      try {
        // The deploy server's key, known for the proxy's address too.
        await appendFile(server.sshd.knownHostsPath, `[127.0.0.1]:${proxy.port} ${server.sshd.hostPublicKey}\n`);
        await server.writeEnv({ server: { port: proxy.port } });
        const run = await server.deploy();
        assert.equal(run.code, 1, run.all);
        assert.match(run.err, /host key/i);
        assert.match(run.err, new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
        assert.deepEqual(await server.releases(), [], "the half-made release was left");
        assert.equal(await server.live(), "", `${CURRENT} was switched`);
        // The impostor never got as far as a login.
        assert.doesNotMatch(await readFile(impostor.logPath, "utf8"), /Accepted publickey/);
      } finally {
        await proxy.stop();
        await impostor.stop();
      }
    }));
});
