import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
    const resolved = await resolveSshHost("tsosi-prod", { port: 22, user: "admin", identityFiles: ["/k"] }, source());
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
    const resolved = await resolveSshHost("web1.example.org", { port: 2200, identityFiles: ["~/.ssh/deploy"] }, source());
    assert.deepEqual(resolved, {
      alias: "web1.example.org",
      host: "web1.example.org",
      port: 2200,
      user: "fallback",
      identityFiles: ["/home/me/.ssh/deploy"],
    });
  });

  it("treats a missing config file as no overrides", async () => {
    const resolved = await resolveSshHost("h", { user: "u" }, { configPath: join(dir, "absent"), homeDir: "/home/me" });
    assert.deepEqual(resolved, { alias: "h", host: "h", port: 22, user: "u" });
  });

  it("names the file and host for a bad Port", async () => {
    await assert.rejects(resolveSshHost("bad-port", {}, source()), {
      name: "GenError",
      message: `${configPath}: Host bad-port: Port must be a number from 1 to 65535, got "http"`,
    });
  });
});
