import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveSshHost } from "./ssh-config.js";

describe("ssh config", () => {
  let dir: string;
  let configPath: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gen-ssh-config-"));
    configPath = join(dir, "config");
    await writeFile(
      configPath,
      [
        "Host tsosi-prod",
        "  HostName tsosi.example.org",
        "  Port 2222",
        "  User deployer",
        "  IdentityFile ~/.ssh/tsosi_ed25519",
        "  IdentityFile %d/.ssh/%r@%h",
        "  UserKnownHostsFile ~/.ssh/known_hosts.tsosi",
        "Host bad-port",
        "  Port http",
        "Host *",
        "  User fallback",
        "",
      ].join("\n"),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const source = () => ({ configPath, homeDir: "/home/me" });

  it("lets the ssh config override the environment's values for an alias", async () => {
    const resolved = resolveSshHost("tsosi-prod", { port: 22, user: "admin", identityFiles: ["/k"] }, source());
    assert.deepEqual(resolved, {
      alias: "tsosi-prod",
      host: "tsosi.example.org",
      port: 2222,
      user: "deployer",
      identityFiles: ["/home/me/.ssh/tsosi_ed25519", "/home/me/.ssh/deployer@tsosi.example.org"],
      knownHostsPaths: ["/home/me/.ssh/known_hosts.tsosi"],
    });
  });

  it("keeps the environment's values where the config says nothing", async () => {
    const resolved = resolveSshHost("web1.example.org", { port: 2200, identityFiles: ["~/.ssh/deploy"] }, source());
    assert.deepEqual(resolved, {
      alias: "web1.example.org",
      host: "web1.example.org",
      port: 2200,
      user: "fallback",
      identityFiles: ["/home/me/.ssh/deploy"],
    });
  });

  it("treats a missing config file as no overrides", async () => {
    const resolved = resolveSshHost("h", { user: "u" }, { configPath: join(dir, "absent"), homeDir: "/home/me" });
    assert.deepEqual(resolved, { alias: "h", host: "h", port: 22, user: "u" });
  });

  it("names the file and host for a bad Port", async () => {
    assert.throws(() => resolveSshHost("bad-port", {}, source()), {
      name: "GenError",
      message: `${configPath}: Host bad-port: Port must be a number from 1 to 65535, got "http"`,
    });
  });

  it("follows Include (relative to ~/.ssh, globs in sorted order) and keeps the enclosing block's condition after it", async () => {
    const home = join(dir, "home");
    await mkdir(join(home, ".ssh", "conf.d"), { recursive: true });
    await writeFile(join(home, ".ssh", "conf.d", "20-b.conf"), "Host jump\n  HostName jump.example.org\n");
    await writeFile(join(home, ".ssh", "conf.d", "10-a.conf"), "Host app\n  HostName app.example.org\n  ProxyJump ops@jump:2022,jump2\n");
    await writeFile(join(home, ".ssh", "extra"), "  Port 2200\n");
    const config = join(home, ".ssh", "config");
    await writeFile(config, ["Include conf.d/*.conf", "Host app", "  Include extra", "  User deployer", "Host other", "  User nobody", ""].join("\n"));
    const app = resolveSshHost("app", {}, { configPath: config, homeDir: home });
    assert.deepEqual(app, {
      alias: "app",
      host: "app.example.org",
      port: 2200,
      user: "deployer",
      jumps: [{ host: "jump", port: 2022, user: "ops" }, { host: "jump2" }],
    });
    assert.equal(resolveSshHost("jump", {}, { configPath: config, homeDir: home }).host, "jump.example.org");
    assert.equal(resolveSshHost("other", {}, { configPath: config, homeDir: home }).port, 22, "Port 2200 belongs to Host app only");
  });

  it("refuses what gen does not implement instead of ignoring it", async () => {
    const config = join(dir, "refusals");
    await writeFile(
      config,
      [
        "Host proxied",
        "  ProxyCommand nc %h %p",
        "Host aliased",
        "  HostKeyAlias other",
        "Host unchecked",
        "  StrictHostKeyChecking no",
        "Host fine",
        "  ServerAliveInterval 30",
        "  ForwardAgent yes",
        "",
      ].join("\n"),
    );
    const resolve = (alias: string) => resolveSshHost(alias, {}, { configPath: config, homeDir: "/home/me" });
    assert.throws(() => resolve("proxied"), /Host proxied: gen does not support proxycommand/);
    assert.throws(() => resolve("aliased"), /Host aliased: gen does not support hostkeyalias/);
    assert.throws(() => resolve("unchecked"), /stricthostkeychecking no/);
    assert.equal(resolve("fine").host, "fine");
  });
});
