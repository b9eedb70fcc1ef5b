// The lock as root takes it, run for real in a temp folder standing for the server's "/" through the local transport:
// by lock.sh's steps (deploy, rollback, --force-unlock) and by the probe that reads the server under apply's lock
// (root_files.py, a LockCarrier), which must take it the same way: the same folders, owners and modes, the same
// answers (taken, held by whom, failed, a link refused), and nothing read under a lock it did not take.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Environment } from "../../schema/index.js";
import { localServer } from "../../test/support/local-server.js";
import { lockingProbe, type ProbeOutput } from "../plan/server-probe.js";
import { attempt, plainStep, runStep } from "../transport/typed-steps.js";
import type { Parsed } from "../transport/step-records.js";
import { type LockAnswer, lockGuarding, lockSteps, takeLockWith } from "./lock.js";
import { serverShell } from "./server-shell.js";

const { root, transport } = localServer("lock");
const shell = serverShell(transport, { server: { useSudo: false } } as unknown as Environment);
const holder = { who: "tester@here", command: "apply", since: "2026-01-01T00:00:00Z", pid: 123 };
const owner = { user: "root", group: "nogroup" };
const at = (path: string) => join(root, path);

test("each lock step is under the size the session's shell reads itself (4 KB): no head process per lock", () => {
  const holder = { who: "someone@somewhere", command: "apply", since: "2026-12-06T00:00:00.000Z", pid: 12345 };
  const owner = { user: "root", group: "a-long-deploy-group-name" };
  for (const force of [false, true]) {
    for (const step of lockSteps(shell, "/var/lib/gen/an-application-with-a-long-name", holder, force, owner).wire) {
      assert.ok(Buffer.byteLength(step.script) <= 4096, `${step.name}: ${Buffer.byteLength(step.script)} bytes`);
    }
  }
});

test("the lock's steps go without lock.sh's comment lines, indented ones included", () => {
  for (const force of [false, true]) {
    for (const step of lockSteps(shell, "/var/lib/gen/app", holder, force, owner).wire) {
      const comments = step.script.split("\n").filter((line) => /^\s*#/.test(line));
      assert.deepEqual(comments, [], step.name);
    }
  }
});

/** The probe under the lock, reading one file (/etc/probed) and gen's record, and asking for one user and one group. */
const probe = (stateDir: string) =>
  lockingProbe(transport.root, [{ path: "/etc/probed" }], `${stateDir}/applied.json`, transport.describe, { users: ["root"], groups: ["gen-no-such-group"] });

/** A guarded step that leaves a mark: it ran only if the lock was taken. */
const mark = (stateDir: string) => plainStep({ name: "marking", script: `: > ${shell.path(`${stateDir}/guarded-ran`)}` });

/** The lock's answer with the guarded steps' values (or the first that could not be read). */
type Taken = Parsed<LockAnswer & { guarded: Parsed<unknown[]> }>;
const taken = (answer: Parsed<readonly [LockAnswer, Parsed<unknown[]>]>): Taken =>
  answer.ok ? { ok: true, value: { ...answer.value[0], guarded: answer.value[1] } } : answer;
const takers: [string, (stateDir: string, force?: boolean) => Promise<Taken>][] = [
  [
    "lock.sh",
    async (stateDir, force = false) => taken(await runStep(shell, attempt(lockGuarding(shell, stateDir, holder, force, owner, [mark(stateDir)], undefined)))),
  ],
  [
    "the probe that takes it (root_files.py)",
    async (stateDir, force = false) =>
      taken(await runStep(shell, attempt(lockGuarding(shell, stateDir, holder, force, owner, [mark(stateDir)], probe(stateDir))))),
  ],
];

const refusal = (answer: Taken) => (answer.ok ? (answer.value.taken ? "taken" : `held: ${answer.value.held}`) : answer.error.message);

for (const [index, [taker, takeAt]] of takers.entries()) {
  // Each taker in a folder of its own.
  const take = (stateDir: string, force?: boolean) => takeAt(`/by${index}${stateDir}`, force);
  const at = (path: string) => join(root, `by${index}`, path);
  mkdirSync(at(""));
  describe(`the lock as root, taken by ${taker}`, () => {
    const nogroup = Number(spawnSync("getent", ["group", "nogroup"], { encoding: "utf8" }).stdout.split(":")[2]);

    test("taken (the guarded steps run), then held by whoever holds it (they do not), then replaced with --force-unlock", async () => {
      const first = await take("/taken");
      assert.ok(first.ok && first.value.taken && first.value.guarded.ok, refusal(first));
      assert.deepEqual(JSON.parse(readFileSync(at("taken/locks/lock/holder.json"), "utf8")), holder);
      assert.equal(statSync(at("taken/locks/lock/holder.json")).mode & 0o777, statSync(at("taken/locks/lock")).mode & 0o666, "holder.json as umask makes it");
      rmSync(at("taken/guarded-ran"));
      const held = await take("/taken");
      assert.ok(held.ok && !held.value.taken);
      assert.deepEqual(JSON.parse(!held.value.taken ? held.value.held : ""), holder);
      assert.equal(existsSync(at("taken/guarded-ran")), false, "a guarded step ran under a lock that was not taken");
      const replaced = await take("/taken", true);
      assert.ok(replaced.ok && replaced.value.taken);
      assert.match(replaced.value.taken ? (replaced.value.replaced ?? "") : "", /^tester@here \(gen apply, pid 123\)/);
      assert.ok(existsSync(at("taken/guarded-ran")));
    });

    test("a holder.json that is not JSON is passed on as it is, newlines and quotes included", async () => {
      mkdirSync(at("odd/locks/lock"), { recursive: true });
      writeFileSync(at("odd/locks/lock/holder.json"), 'not "json"\nat all\n');
      assert.equal(refusal(await take("/odd")), 'held: not "json"\nat all');
    });

    test("a held lock's holder is read through no link and from no FIFO, and at most 4 KB of it: held by an unknown holder", async () => {
      const secret = at("root-only/holder.json");
      mkdirSync(at("root-only"), { mode: 0o700 });
      writeFileSync(secret, `${JSON.stringify({ ...holder, who: "ROOT-ONLY" })}\n`, { mode: 0o600 });
      const plants: [string, (lock: string) => void][] = [
        ["a FIFO", (lock) => void spawnSync("mkfifo", [join(lock, "holder.json")])],
        ["a link to a root-only file", (lock) => symlinkSync(secret, join(lock, "holder.json"))],
        ["more than 4 KB", (lock) => writeFileSync(join(lock, "holder.json"), `${JSON.stringify(holder)}${" ".repeat(5000)}`)],
      ];
      for (const [what, plant] of plants) {
        rmSync(at("planted"), { recursive: true, force: true });
        mkdirSync(at("planted/locks/lock"), { recursive: true });
        plant(at("planted/locks/lock"));
        const answer = await take("/planted");
        assert.ok(answer.ok && !answer.value.taken, `${what}: ${refusal(answer)}`);
        const held = !answer.value.taken ? answer.value.held : "";
        assert.doesNotMatch(held, /ROOT-ONLY/, what);
        assert.ok(Buffer.byteLength(held) <= 4096, what);
      }
      // The lock folder itself a link to a folder holding a holder.json: held (test -d follows it), by nobody readable.
      rmSync(at("planted/locks/lock"), { recursive: true });
      symlinkSync(at("root-only"), at("planted/locks/lock"));
      assert.equal(refusal(await take("/planted")), "held: ");
    });

    test("mkdir failing for another reason is an error with its words", async () => {
      mkdirSync(at("file-locks"));
      writeFileSync(at("file-locks/locks"), "a file where the folder should be");
      assert.match(refusal(await take("/file-locks")), /^cannot take the lock \/by\d\/file-locks\/locks\/lock on local:.*: (mkdir: .*)?Not a directory/);
    });

    test("the state folder is made root's 0755 and its locks folder root:<group> 1770, and put back when changed", async () => {
      const modes = () => {
        const state = statSync(at("root-state"));
        const locks = statSync(at("root-state/locks"));
        return [state.uid, state.mode & 0o7777, locks.uid, locks.gid, locks.mode & 0o7777];
      };
      assert.ok((await take("/root-state/deeper")).ok);
      assert.ok((await take("/root-state", true)).ok);
      assert.deepEqual(modes(), [0, 0o755, 0, nogroup, 0o1770]);
      chmodSync(at("root-state"), 0o777);
      chmodSync(at("root-state/locks"), 0o777);
      chownSync(at("root-state/locks"), 0, 0);
      assert.ok((await take("/root-state", true)).ok);
      assert.deepEqual(modes(), [0, 0o755, 0, nogroup, 0o1770]);
    });

    test("a link on the way to the state folder, or left in it by its former owner, is refused by name, nothing written through it", async () => {
      mkdirSync(at("lock-target/state"), { recursive: true });
      symlinkSync(at("lock-target"), at("lock-linked"));
      assert.match(
        refusal(await take("/lock-linked/state")),
        /^apply stopped on local:.*: \/by\d\/lock-linked is a symbolic link: gen does not change anything as root/,
      );
      assert.deepEqual(readdirSync(at("lock-target/state")), []);
      mkdirSync(at("lock-given/backups"), { recursive: true });
      chownSync(at("lock-given"), 65534, 65534);
      symlinkSync(at("lock-target"), at("lock-given/backups/7"));
      assert.match(refusal(await take("/lock-given")), /: \/by\d\/lock-given\/backups\/7 is a symbolic link/);
      assert.equal(statSync(at("lock-given")).uid, 0, "the state folder was taken back");
      assert.deepEqual(readdirSync(at("lock-target")), ["state"]);
    });

    test("a link in the state folder, on the way to it or as its locks folder is refused before the lock is taken", async () => {
      const outside = at("outside");
      mkdirSync(outside);
      // A state folder the deploy user owned (an older gen) with a link it left there: root would write backups through it.
      mkdirSync(at("user-state"));
      chownSync(at("user-state"), 1001, 1001);
      symlinkSync(outside, at("user-state/backups"));
      assert.match(
        refusal(await take("/user-state")),
        /^apply stopped on local:.*: \/by\d\/user-state\/backups is a symbolic link: gen does not change anything as root/,
      );
      // A link one level down is found too.
      mkdirSync(at("user-state2/uploads"), { recursive: true });
      chownSync(at("user-state2"), 1001, 1001);
      symlinkSync(outside, at("user-state2/uploads/x"));
      assert.match(refusal(await take("/user-state2")), /: \/by\d\/user-state2\/uploads\/x is a symbolic link/);
      symlinkSync(at("user-state"), at("state-link"));
      assert.match(refusal(await take("/state-link/inner")), /: \/by\d\/state-link is a symbolic link/);
      mkdirSync(at("locks-link"));
      symlinkSync(outside, at("locks-link/locks"));
      assert.match(refusal(await take("/locks-link")), /: \/by\d\/locks-link\/locks is a symbolic link/);
      assert.deepEqual(readdirSync(outside), [], "no lock taken through a link");
      for (const state of ["user-state", "user-state2", "locks-link"]) assert.equal(existsSync(at(`${state}/guarded-ran`)), false, state);
    });
  });
}

describe("the probe that takes the lock", () => {
  test("reads the server only once the lock is taken, and answers for the users and groups it was asked about", async () => {
    mkdirSync(at("etc"), { recursive: true });
    writeFileSync(at("etc/probed"), "probed\n");
    const taken = await takeLockWith(shell, "/probed-state", holder, false, owner, [], probe("/probed-state"));
    assert.ok(taken.guarded.ok);
    const [read] = taken.guarded.value as unknown as [ProbeOutput];
    assert.deepEqual(
      read.results.map((r) => r.status),
      ["ok"],
    );
    assert.deepEqual([...read.accounts.users], [["root", true]]);
    assert.deepEqual([...read.accounts.groups], [["gen-no-such-group", false]]);
    const held = await runStep(shell, attempt(lockGuarding(shell, "/probed-state", holder, false, owner, [], probe("/probed-state"))));
    assert.deepEqual(held.ok && held.value[0], { taken: false, held: JSON.stringify(holder) });
  });

  test("a probe whose answer cannot be read once it took the lock is an error, with the lock taken (its caller releases it)", async () => {
    const failing = { ...probe("/failing-state"), parse: () => ({ ok: false as const, error: new Error("the probe's own failure") as never }) };
    const answer = taken(await runStep(shell, attempt(lockGuarding(shell, "/failing-state", holder, false, owner, [mark("/failing-state")], failing))));
    assert.ok(answer.ok && answer.value.taken && !answer.value.guarded.ok);
    assert.match(answer.value.taken && !answer.value.guarded.ok ? answer.value.guarded.error.message : "", /the probe's own failure/);
    assert.ok(existsSync(at("failing-state/locks/lock")), "the lock was taken");
  });
});
