// --hosts and --roles through the shipped bin, against three real OpenSSH servers on 127.0.0.1 (hosts a: web,
// b: worker, c: web and worker, over one fake root): each command that reaches servers works on the hosts selected
// and never contacts another, as each sshd's log shows; a host or role the environment does not have is wrong usage
// naming those it has, before any connection. (deploy and rollback on hosts of their own: two-hosts.test.ts.)
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { startGenServer, trustAllHosts, type GenServer } from "./support/gen-server.js";

const LIMIT_MS = 60_000;
const HOSTS = [
  { name: "a", roles: ["web"] },
  { name: "b", roles: ["worker"] },
  { name: "c", roles: ["web", "worker"] },
];

async function withHosts(test: (server: GenServer) => Promise<void>): Promise<void> {
  const server = await startGenServer({ hosts: 3 });
  try {
    await trustAllHosts(server);
    await server.writeEnv(hostsEnv(server));
    await test(server);
  } finally {
    await server.stop();
  }
}

function hostsEnv(server: GenServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const hosts = HOSTS.map((h, i) => ({ ...h, host: server.sshds[i]!.host, port: server.sshds[i]!.port }));
  return { ...extra, server: { hosts } };
}

/**
 * What each sshd's log says so far: TCP connections (but the harness's probe for a listening port, which closes before
 * the key exchange) and sessions started.
 */
async function contacts(server: GenServer): Promise<{ connections: number; sessions: number }[]> {
  const count = (log: string, pattern: RegExp) => (log.match(pattern) ?? []).length;
  return Promise.all(
    server.sshds.map(async (s) => {
      const log = await readFile(s.logPath, "utf8");
      const probes = count(log, /^kex_exchange_identification: Connection closed by remote host$/gm);
      return { connections: count(log, /^Connection from /gm) - probes, sessions: count(log, /Starting session: /g) };
    }),
  );
}

/** The hosts whose sshd was contacted by `run`. */
async function contacted(server: GenServer, run: () => Promise<unknown>): Promise<string[]> {
  const before = await contacts(server);
  await run();
  const after = await contacts(server);
  return HOSTS.filter((_, i) => after[i]!.connections > before[i]!.connections || after[i]!.sessions > before[i]!.sessions).map((h) => h.name);
}

const gen = (server: GenServer, args: string[]) => server.gen(args, { timeoutMs: LIMIT_MS });

describe("--hosts and --roles", { concurrency: 2, timeout: 10 * 60_000 }, () => {
  it("limit apply, diff, status, check, releases, rollback and doctor to the hosts selected; the others are never contacted", () =>
    withHosts(async (server) => {
      const cases: [string[], string[], number][] = [
        // The hosts share one root (and its lock): apply reaches one of them at a time; c has every file.
        [["apply", "t", "--yes", "--hosts", "c"], ["c"], 0],
        [["diff", "t", "--json", "--hosts", "b,c"], ["b", "c"], 0],
        [["status", "t", "--json", "--roles", "worker"], ["b", "c"], 0],
        [["status", "t", "--json", "--hosts", "c", "--hosts", "a", "--roles", "web"], ["a", "c"], 0],
        [["check", "t", "--json", "--hosts", "b"], ["b"], 1],
        [["releases", "t", "--json", "--roles", "web"], ["a", "c"], 0],
        [["rollback", "t", "--json", "--yes", "--hosts", "c"], ["c"], 1],
        [["doctor", "t", "--json", "--hosts", "b"], ["b"], 1],
      ];
      for (const [args, hosts, code] of cases) {
        let run: Awaited<ReturnType<typeof gen>> | undefined;
        assert.deepEqual(
          await contacted(server, async () => {
            run = await gen(server, args);
          }),
          hosts,
          args.join(" "),
        );
        assert.equal(run!.code, code, `${args.join(" ")}: ${run!.all}`);
        if (args[0] === "apply") continue;
        const reported = (JSON.parse(run!.out) as { hosts: { host: string }[] }).hosts.map((h) => h.host);
        assert.deepEqual(reported, hosts, `${args.join(" ")} reports`);
      }
    }));

  it("apply --plan saved for every host applies it to the hosts selected only", () =>
    withHosts(async (server) => {
      assert.equal((await gen(server, ["apply", "t", "--yes", "--hosts", "a"])).code, 0);
      await server.writeEnv(hostsEnv(server, { logrotate: { rotate: 9 } }));
      const plan = `${server.tempDir}/plan.json`;
      const saved = await gen(server, ["diff", "t", "--out", plan]);
      assert.equal(saved.code, 2, saved.all);
      let run: Awaited<ReturnType<typeof gen>> | undefined;
      assert.deepEqual(
        await contacted(server, async () => {
          run = await gen(server, ["apply", "t", "--yes", "--plan", plan, "--hosts", "b"]);
        }),
        ["b"],
      );
      assert.equal(run!.code, 0, run!.all);
      assert.match(run!.out, /^b: applied 3 files/m);
      assert.match(run!.out, /^1 to change, 2 to create, 2 unchanged$/m);
    }));

  it("a host or role the environment does not have is wrong usage, naming those it has; nothing is contacted", () =>
    withHosts(async (server) => {
      const known = /^ {2}t's hosts: a \(web\), b \(worker\), c \(web, worker\)$/m;
      const cases: [string[], number, RegExp][] = [
        [["diff", "t", "--hosts", "d"], 64, /^error: --hosts: t has no host "d"$/m],
        [["status", "t", "--hosts", "a,zz,yy"], 64, /^error: --hosts: t has no host "zz", "yy"$/m],
        [["apply", "t", "--yes", "--hosts", "A"], 2, /^error: --hosts: t has no host "A"$/m],
        [["deploy", "t", "--yes", "--roles", "db"], 2, /^error: --roles: unknown role "db": the roles are web, worker$/m],
        [["rollback", "t", "--yes", "--hosts", "b", "--roles", "web"], 2, /^error: no host of t is b and web$/m],
        [["check", "t", "--hosts", "nope"], 2, /^error: --hosts: t has no host "nope"$/m],
        [["releases", "t", "--roles", "wrker"], 2, /^error: --roles: unknown role "wrker"/m],
        [["doctor", "t", "--hosts", ","], 2, /^error: option --hosts needs at least one name$/m],
      ];
      for (const [args, code, says] of cases) {
        let run: Awaited<ReturnType<typeof gen>> | undefined;
        assert.deepEqual(
          await contacted(server, async () => {
            run = await gen(server, args);
          }),
          [],
          args.join(" "),
        );
        assert.equal(run!.code, code, `${args.join(" ")}: ${run!.all}`);
        assert.match(run!.err, says, args.join(" "));
        if (args.at(-1) !== ",") assert.match(run!.err, known, args.join(" "));
      }
    }));
});
