// ~/.ssh/config as ssh reads it: Include followed, ProxyJump through a second loopback sshd whose host key is
// checked like any other, and directives gen does not implement refused with a message. Run through the bin.
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { proxyJumpConfig, startSshd, type SshdHandle } from "../support/sshd.js";
import { startGenServer, type GenServer } from "./support/gen-server.js";

async function withJump(
  test: (server: GenServer, jump: SshdHandle, paths: { config: string; knownHosts: string }) => Promise<void>,
  jumpConfig: string[] = [],
): Promise<void> {
  const server = await startGenServer();
  let jump: SshdHandle | undefined;
  try {
    jump = await startSshd({ config: jumpConfig });
    const sshDir = join(server.tempDir, "dot-ssh");
    await mkdir(join(sshDir, "config.d"), { recursive: true });
    const config = join(sshDir, "config");
    await writeFile(config, [`Include ${join(sshDir, "config.d")}/*.conf`, "Host *", "  ServerAliveInterval 30", ""].join("\n"));
    await writeFile(join(sshDir, "config.d", "10-tsosi.conf"), proxyJumpConfig(server.sshd.port, jump));
    const knownHosts = join(sshDir, "known_hosts");
    await writeFile(knownHosts, (await readFile(server.sshd.knownHostsPath, "utf8")) + (await readFile(jump.knownHostsPath, "utf8")));
    await server.writeEnv({ server: { host: "target" } });
    await test(server, jump, { config, knownHosts });
  } finally {
    await jump?.stop();
    await server.stop();
  }
}

describe("ssh config: Include, ProxyJump, refusals", () => {
  it("follows Include and reaches the host through its ProxyJump", () =>
    withJump(async (server, _jump, { config, knownHosts }) => {
      const run = await server.gen(["diff", "t", "--stat", "--ssh-config", config], { knownHosts });
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, /0 to change, 10 to create, 0 unchanged/);
    }));

  it("goes through the jump host: one that does not forward makes the connection fail, naming it", () =>
    withJump(
      async (server, jump, { config, knownHosts }) => {
        const run = await server.gen(["diff", "t", "--ssh-config", config], { knownHosts });
        assert.equal(run.code, 1, run.all);
        assert.match(
          run.all,
          new RegExp(`jump host root@127\\.0\\.0\\.1:${jump.port} \\(ProxyJump\\) did not open a channel to 127\\.0\\.0\\.1:${server.sshd.port}`),
        );
      },
      ["AllowTcpForwarding no"],
    ));

  it("checks the jump host's key like any other: an unknown one is refused", () =>
    withJump(async (server, jump, { config }) => {
      const run = await server.gen(["diff", "t", "--ssh-config", config], { knownHosts: server.sshd.knownHostsPath });
      assert.equal(run.code, 1, run.all);
      assert.match(run.all, new RegExp(`127\\.0\\.0\\.1\\]?:${jump.port}`));
      assert.match(run.all, /unknown|not known|accept-new-host-key/i);
    }));

  it("refuses a directive gen does not implement instead of ignoring it", () =>
    withJump(async (server, _jump, { config, knownHosts }) => {
      await writeFile(config, ["Host target", "  HostName 127.0.0.1", `  Port ${server.sshd.port}`, "  ProxyCommand nc %h %p", ""].join("\n"));
      const run = await server.gen(["diff", "t", "--ssh-config", config], { knownHosts });
      assert.equal(run.code, 1, run.all);
      assert.match(run.all, /Host target: gen does not support proxycommand/);
    }));
});
