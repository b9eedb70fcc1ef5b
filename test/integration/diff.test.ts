// gen diff end to end: the real CLI parser, a real OpenSSH server on 127.0.0.1, a fake root folder.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, chown, lstat, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { freePort, startSilentServer } from "../support/net.js";
import { assertJsonOutput } from "../support/json-output.js";
import { handWrittenShapes } from "../fixtures/hand-written-settings.js";
import { DB_PASSWORD, SECRET_KEY, startGenServer, trustAllHosts, type GenServer, type GenServerOptions } from "./support/gen-server.js";

const LOGROTATE = "/etc/logrotate.d/tsosi";
const SUDOERS = "/etc/sudoers.d/tsosi";
const SETTINGS = "/home/gen-test/config/settings_local.py";
const FILE_COUNT = 10;

async function withServer(options: GenServerOptions, test: (server: GenServer) => Promise<void>): Promise<void> {
  const server = await startGenServer(options);
  try {
    await test(server);
  } finally {
    await server.stop();
  }
}

async function applied(server: GenServer): Promise<void> {
  const run = await server.gen(["apply", "t", "--yes"]);
  assert.equal(run.code, 0, run.all);
}

// Each test has its own sshd and root, so two run at once.
describe("gen diff over real OpenSSH", { concurrency: 2 }, () => {
  it("exits 0 with nothing but unchanged files when the server matches", () =>
    withServer({}, async (server) => {
      await applied(server);
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 0, run.all);
      assert.match(run.out, new RegExp(`^0 to change, 0 to create, ${FILE_COUNT} unchanged$`, "m"));
      assert.doesNotMatch(run.out, /^(change|create) /m);
    }));

  it("exits 2 with a unified diff of changed content", () =>
    withServer({}, async (server) => {
      await applied(server);
      await server.writeEnv({ logrotate: { rotate: 9 } });
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, new RegExp(`^change ${LOGROTATE}$`, "m"));
      assert.match(run.out, new RegExp(`^--- server:${LOGROTATE}$`, "m"));
      assert.match(run.out, new RegExp(`^\\+\\+\\+ gen:${LOGROTATE}$`, "m"));
      assert.match(run.out, /^- {4}rotate 5$/m);
      assert.match(run.out, /^\+ {4}rotate 9$/m);
      assert.match(run.out, new RegExp(`^1 to change, 0 to create, ${FILE_COUNT - 1} unchanged$`, "m"));
    }));

  it("shows a server file's bytes as they are, whatever they are: escapes made visible, invalid UTF-8 as U+FFFD, in text and in JSON", () =>
    withServer({}, async (server) => {
      await applied(server);
      const original = await readFile(server.file(SUDOERS));
      // A line that would recolour the terminal and set its title, quotes and backslashes, a byte that is not UTF-8.
      const planted = Buffer.from('# \x1b[31mred\x1b]0;title\x07 "quoted" back\\slash \xff end\n', "latin1");
      await writeFile(server.file(SUDOERS), Buffer.concat([original, planted]));
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 2, run.all);
      assert.doesNotMatch(run.all, /\x1b|\x07/);
      assert.match(run.out, /^-# \\x1b\[31mred\\x1b\]0;title\\x07 "quoted" back\\slash \uFFFD end$/m);
      const json = await server.gen(["diff", "t", "--json"]);
      assert.equal(json.code, 2, json.all);
      const plan = assertJsonOutput<{ hosts: { entries: { path: string; current?: { sha256: string } }[] }[] }>("diff", json.out);
      const entry = plan.hosts[0]!.entries.find((e) => e.path === SUDOERS)!;
      // The hash is of the bytes on the server, not of the text shown.
      const { createHash } = await import("node:crypto");
      assert.equal(
        entry.current?.sha256,
        createHash("sha256")
          .update(Buffer.concat([original, planted]))
          .digest("hex"),
      );
    }));

  it("reads what differs through its one session: no SFTP channel is opened", () =>
    withServer({}, async (server) => {
      await applied(server);
      await writeFile(server.file(SUDOERS), `${await readFile(server.file(SUDOERS), "utf8")}# edited by hand\n`);
      const sftpRequests = async () => ((await readFile(server.sshd.logPath, "utf8")).match(/Starting session: subsystem 'sftp'/g) ?? []).length;
      const before = await sftpRequests();
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, /^-# edited by hand$/m);
      assert.equal(await sftpRequests(), before, "the diff opened the SFTP subsystem");
    }));

  it("reports a missing file as create", () =>
    withServer({}, async (server) => {
      await applied(server);
      await rm(server.file(LOGROTATE));
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, new RegExp(`^create ${LOGROTATE}`, "m"));
      assert.match(run.out, /^\+\+\+ gen:\/etc\/logrotate\.d\/tsosi$/m);
      assert.match(run.out, new RegExp(`^0 to change, 1 to create, ${FILE_COUNT - 1} unchanged`, "m"));
    }));

  it("reports mode and owner drift as mode and owner changes, without a content diff", () =>
    withServer({}, async (server) => {
      await applied(server);
      await chmod(server.file(LOGROTATE), 0o640);
      await chown(server.file(SUDOERS), 1, 1); // daemon:daemon
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, new RegExp(`^change ${LOGROTATE}\\n  mode 0640 -> 0644$`, "m"));
      assert.match(run.out, new RegExp(`^change ${SUDOERS}\\n  owner daemon:daemon -> root:root$`, "m"));
      assert.doesNotMatch(run.out, /^--- server:/m);
      const stat = await server.gen(["diff", "t", "--stat"]);
      assert.match(stat.out, new RegExp(`change +${LOGROTATE} \\(mode\\)`));
      assert.match(stat.out, new RegExp(`change +${SUDOERS} \\(owner, group\\)`));
    }));

  it("reports a file the login user cannot read as unreadable, not as create", () =>
    withServer({ user: "gen-test" }, async (server) => {
      await mkdir(server.file("/etc/sudoers.d"), { recursive: true });
      await writeFile(server.file(SUDOERS), "root-only\n", { mode: 0o600 });
      await chown(server.file(SUDOERS), 0, 0);
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, new RegExp(`^unreadable ${SUDOERS}$`, "m"));
      assert.match(run.out, /cannot read it: .*permission denied for gen-test/);
      assert.doesNotMatch(run.out, new RegExp(`^create ${SUDOERS}`, "m"));
      assert.match(run.out, /, 1 unreadable/);
    }));

  describe("connection failures", () => {
    it("refuses an unknown host key, showing its fingerprint and --accept-new-host-key", () =>
      withServer({}, async (server) => {
        const empty = join(server.tempDir, "known_hosts_empty");
        await writeFile(empty, "");
        const run = await server.gen(["diff", "t"], { knownHosts: empty });
        assert.equal(run.code, 1, run.all);
        assert.ok(run.all.includes(server.sshd.hostFingerprint), run.all);
        assert.match(run.all, /is not known/);
        assert.match(run.all, /--accept-new-host-key/);
        assert.equal(await readFile(empty, "utf8"), "");
      }));

    it("refuses a changed host key, even with --accept-new-host-key", () =>
      withServer({}, async (server) => {
        const other = join(server.tempDir, "other_host_key");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
        const otherKey = (await readFile(`${other}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
        const knownHosts = join(server.tempDir, "known_hosts_changed");
        await writeFile(knownHosts, `[127.0.0.1]:${server.sshd.port} ${otherKey}\n`);
        const run = await server.gen(["diff", "t", "--accept-new-host-key"], { knownHosts });
        assert.equal(run.code, 1, run.all);
        assert.match(run.all, /HOST KEY CHANGED/);
        assert.ok(run.all.includes(server.sshd.hostFingerprint), run.all);
        assert.equal(await readFile(knownHosts, "utf8"), `[127.0.0.1]:${server.sshd.port} ${otherKey}\n`);
      }));

    it("refuses a client key the server does not accept", () =>
      withServer({}, async (server) => {
        const wrong = join(server.tempDir, "wrong_client_key");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", wrong]);
        const run = await server.gen(["diff", "t"], { identity: wrong });
        assert.equal(run.code, 1, run.all);
        assert.match(run.all, /rejected the key/);
      }));

    it("says the connection was refused when no server listens", () =>
      withServer({}, async (server) => {
        const port = await freePort();
        await server.writeEnv({ server: { port } });
        const run = await server.gen(["diff", "t"]);
        assert.equal(run.code, 1, run.all);
        assert.match(run.all, new RegExp(`cannot connect to root@127\\.0\\.0\\.1:${port}: connection refused`));
        assert.match(run.out, /1 host unreachable/);
      }));

    it("times out on a server that never answers", () =>
      withServer({}, async (server) => {
        const silent = await startSilentServer();
        try {
          await server.writeEnv({ server: { port: silent.port, connectTimeoutSeconds: 1 } });
          // The connect timeout itself is measured by the unit tests with an injected clock; here, that gen
          // gives up on its own and says why is the behaviour (no bound on how long a loaded machine takes).
          const run = await server.gen(["diff", "t"]);
          assert.equal(run.code, 1, run.all);
          assert.match(run.all, new RegExp(`no answer from 127\\.0\\.0\\.1:${silent.port} within 1 s`));
        } finally {
          await silent.stop();
        }
      }));
  });

  describe("several hosts", () => {
    it("reports each of three hosts", () =>
      withServer({ hosts: 3 }, async (server) => {
        await trustAllHosts(server);
        const run = await server.gen(["diff", "t"]);
        assert.equal(run.code, 2, run.all);
        for (const [i, name] of ["a", "b", "c"].entries()) {
          assert.match(run.out, new RegExp(`^# ${name} \\(root@127\\.0\\.0\\.1:${server.sshds[i]!.port}`, "m"));
        }
        assert.equal(run.out.match(new RegExp(`^create ${SUDOERS}$`, "gm"))?.length, 3);
        assert.match(run.out, new RegExp(`^0 to change, ${3 * FILE_COUNT} to create, 0 unchanged$`, "m"));
      }));

    it("still reports the other hosts when one is down, and exits 1", () =>
      withServer({ hosts: 3 }, async (server) => {
        await trustAllHosts(server);
        await server.sshds[1]!.stop();
        const run = await server.gen(["diff", "t"]);
        assert.equal(run.code, 1, run.all);
        const sections = run.out.split(/^# /m).slice(1);
        assert.deepEqual(
          sections.map((s) => s.slice(0, 1)),
          ["a", "b", "c"],
        );
        assert.match(sections[1]!, /unreachable: cannot connect to .*connection refused/);
        for (const i of [0, 2]) assert.match(sections[i]!, new RegExp(`^create ${SUDOERS}$`, "m"));
        assert.match(run.out, new RegExp(`^0 to change, ${2 * FILE_COUNT} to create, 0 unchanged, 1 host unreachable$`, "m"));
      }));
  });

  describe("secrets", { concurrency: 2 }, () => {
    const NEW_PASSWORD = "new-db-pass-8e5d21";

    async function changedPassword(server: GenServer): Promise<void> {
      await applied(server);
      await server.writeSecrets({ TEST_DB_PASSWORD: NEW_PASSWORD, TEST_SECRET_KEY: "django-secret-key-7b2e4d90" });
    }

    it("shows a changed secret as changed on both sides without either value", () =>
      withServer({}, async (server) => {
        await changedPassword(server);
        const run = await server.gen(["diff", "t"]);
        assert.equal(run.code, 2, run.all);
        assert.match(run.out, new RegExp(`^change ${SETTINGS}$`, "m"));
        assert.match(run.out, /^- +"PASSWORD": "\[secret:TEST_DB_PASSWORD \(different value\)\]",$/m);
        assert.match(run.out, /^\+ +"PASSWORD": "\[secret:TEST_DB_PASSWORD\]",$/m);
        for (const value of [DB_PASSWORD, NEW_PASSWORD]) assert.ok(!run.all.includes(value), `${value} leaked:\n${run.all}`);
        const json = await server.gen(["diff", "t", "--json", "--out", join(server.tempDir, "plan.json")]);
        const saved = await readFile(join(server.tempDir, "plan.json"), "utf8");
        for (const value of [DB_PASSWORD, NEW_PASSWORD]) assert.ok(!json.all.includes(value) && !saved.includes(value), `${value} leaked`);
      }));

    it("never shows a value of a hand-written settings file, whatever the shape of its lines", () =>
      withServer({}, async (server) => {
        await applied(server);
        const shapes = handWrittenShapes({ dbPassword: DB_PASSWORD, secretKey: SECRET_KEY });
        await writeFile(server.file(SETTINGS), `DEBUG = False\n${shapes.map((s) => s.text).join("\n")}\n`);
        const run = await server.gen(["diff", "t"]);
        assert.equal(run.code, 2, run.all);
        assert.match(run.out, new RegExp(`^change ${SETTINGS}`, "m"));
        for (const secret of [DB_PASSWORD, SECRET_KEY, ...shapes.flatMap((s) => s.secrets)])
          assert.ok(!run.all.includes(secret), `${secret} leaked:\n${run.all}`);
        assert.match(run.out, /^-\[server line hidden: this file holds secrets; --show-secrets shows it\]$/m);
        assert.match(run.out, /^\+SECRET_KEY = "\[secret:TEST_SECRET_KEY\]"$/m);
        const shown = await server.gen(["diff", "t", "--show-secrets"]);
        assert.ok(shown.out.includes(`-SECRET_KEY = '${SECRET_KEY}'  # note: rotate yearly`), shown.out);
      }));

    it("writes a files entry whose template uses a secret 0600 with the entry's owner on the server", () =>
      withServer({}, async (server) => {
        await writeFile(join(server.envDir, "token.njk"), "token {{ token | upper }}\n");
        await server.writeEnv({
          files: [
            { path: "/etc/app-token.conf", template: "token.njk", owner: "gen-test", group: "gen-test", vars: { token: { secret: "TEST_DB_PASSWORD" } } },
          ],
        });
        const run = await server.gen(["apply", "t", "--yes"]);
        assert.equal(run.code, 0, run.all);
        assert.ok(!run.all.includes(DB_PASSWORD.toUpperCase()), run.all);
        const stat = await lstat(server.file("/etc/app-token.conf"));
        assert.equal(stat.mode & 0o777, 0o600);
        assert.equal(stat.uid, Number(execFileSync("id", ["-u", "gen-test"], { encoding: "utf8" })));
      }));

    it("shows both values with --show-secrets", () =>
      withServer({}, async (server) => {
        await changedPassword(server);
        const run = await server.gen(["diff", "t", "--show-secrets"]);
        assert.equal(run.code, 2, run.all);
        assert.match(run.out, new RegExp(`^- +"PASSWORD": "${DB_PASSWORD}",$`, "m"));
        assert.match(run.out, new RegExp(`^\\+ +"PASSWORD": "${NEW_PASSWORD}",$`, "m"));
      }));
  });

  it("marks a file edited by hand since the last apply", () =>
    withServer({}, async (server) => {
      await applied(server);
      await writeFile(server.file(LOGROTATE), `${await readFile(server.file(LOGROTATE), "utf8")}# tuned by hand\n`);
      const run = await server.gen(["diff", "t"]);
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, new RegExp(`^change ${LOGROTATE}  \\(edited on the server since the last apply\\)$`, "m"));
      assert.match(run.out, /^-# tuned by hand$/m);
      assert.match(run.out, /, 1 edited on the server since the last apply$/m);
      assert.equal(run.out.match(/edited on the server since the last apply\)/g)?.length, 1);
    }));

  it("saves the plan with --out and prints it with --json", () =>
    withServer({}, async (server) => {
      const planFile = join(server.tempDir, "plan.json");
      const run = await server.gen(["diff", "t", "--out", planFile]);
      assert.equal(run.code, 2, run.all);
      assert.match(run.out, new RegExp(`plan saved to ${planFile}: apply it with gen apply t --plan ${planFile}`));
      const saved = JSON.parse(await readFile(planFile, "utf8")) as {
        format: string;
        plan: { environment: string; hosts: { entries: { action: string }[] }[] };
        rendered: Record<string, string>;
      };
      assert.equal(saved.format, "gen-plan/1");
      assert.equal(saved.plan.environment, "t");
      assert.equal(saved.plan.hosts[0]!.entries.length, FILE_COUNT);
      assert.ok(saved.plan.hosts[0]!.entries.every((e) => e.action === "create"));
      assert.equal(Object.keys(saved.rendered).length, FILE_COUNT);

      const json = await server.gen(["diff", "t", "--json"]);
      assert.equal(json.code, 2, json.all);
      const shown = assertJsonOutput<typeof saved.plan & { hosts: { host: string; transport: string }[] }>("diff", json.out);
      assert.equal(shown.environment, "t");
      assert.equal(shown.hosts[0]!.host, "127.0.0.1");
      assert.deepEqual({ environment: shown.environment, hosts: shown.hosts }, saved.plan);
    }));
});
