// The connections a command starts before the SSH code is loaded (connect-early.ts): which hosts get one, where it
// goes (the ssh config applied), and that no socket is left open when the command ends before using it.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Environment } from "../../schema/index.js";
import { startHosts } from "./early-start.js";
import { hostConnections } from "./open-transport.js";

describe("connections started early", () => {
  let dir: string;
  let configPath: string;
  let listener: Server;
  let port: number;
  const accepted: Socket[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gen-early-start-"));
    listener = createServer((socket) => accepted.push(socket));
    await new Promise<void>((listening) => listener.listen(0, "127.0.0.1", listening));
    port = (listener.address() as { port: number }).port;
    configPath = join(dir, "config");
    await writeFile(
      configPath,
      ["Host web-alias", "  HostName 127.0.0.1", `  Port ${port}`, "Host through-jump", "  ProxyJump bastion", "Host bad-port", "  Port http", ""].join("\n"),
    );
  });
  after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((closed) => listener.close(closed));
    await rm(dir, { recursive: true, force: true });
  });

  const host = (name: string) => ({ name, host: name, port: 22, roles: ["web"], hostKey: undefined, root: "/" });
  const environment = (names: string[], transport = "ssh") => ({ server: { transport, sshUser: "admin", hosts: names.map(host) } }) as unknown as Environment;
  const acceptedCount = async (count: number) => {
    for (let i = 0; i < 200 && accepted.length < count; i++) await new Promise((r) => setTimeout(r, 10));
    return accepted.length;
  };

  it("connects to the first hosts the command will use, where the ssh config sends them", async () => {
    const before = accepted.length;
    const started = startHosts(environment(["web-alias", "web-alias-2"]), 1, { sshConfigPath: configPath });
    assert.deepEqual([...started.keys()], ["web-alias"]);
    const start = started.get("web-alias")!;
    assert.deepEqual([start.resolved.host, start.resolved.port, start.resolved.user], ["127.0.0.1", port, "admin"]);
    assert.equal(await acceptedCount(before + 1), before + 1, "the server accepted the connection started early");
    start.tcp!.socket.destroy();
  });

  it("starts no socket for a host reached through a jump, nor for the local transport", () => {
    const started = startHosts(environment(["through-jump"]), 5, { sshConfigPath: configPath });
    assert.equal(started.get("through-jump")?.tcp, undefined);
    assert.deepEqual(started.get("through-jump")?.resolved.jumps, [{ host: "bastion" }]);
    assert.equal(startHosts(environment(["web-alias"], "local"), 5, { sshConfigPath: configPath }).size, 0);
  });

  it("leaves out a host whose ssh config cannot be read, for its connection to report", () => {
    const started = startHosts(environment(["bad-port", "web-alias"]), 2, { sshConfigPath: configPath });
    assert.deepEqual([...started.keys()], ["web-alias"]);
    started.get("web-alias")!.tcp!.socket.destroy();
  });

  it("closes the sockets started early that no connection took, when the command ends", async () => {
    const before = accepted.length;
    const env = environment(["web-alias"]);
    const started = startHosts(env, 1, { sshConfigPath: configPath });
    const socket = started.get("web-alias")!.tcp!.socket;
    await acceptedCount(before + 1);
    await hostConnections(env, { projectDir: dir, envName: "t", sshConfigPath: configPath }, started).close();
    assert.ok(socket.destroyed, "the socket started early is closed, so gen can exit");
  });
});
