// The lock's holder.json is in a folder the deploy user can write: gen believes only a holder of the shape it writes,
// and takes over without --force-unlock only a lock of its own user whose process is gone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { describeLockHolder, parseLockHolder } from "./lock-holder.js";
import { type LockAnswer, leftByDeadLocalRun, lockedRoundTrip } from "./lock.js";
import type { ServerShell } from "./server-shell.js";

const holder = { who: "alice@laptop", command: "apply", since: "2026-01-01T00:00:00Z", pid: 4242 };

describe("the lock holder", () => {
  test("gen's own holder is read back as it was written, and described with who, command, pid and since", () => {
    assert.deepEqual(parseLockHolder(JSON.stringify({ ...holder, extra: "ignored" })), holder);
    assert.equal(describeLockHolder(JSON.stringify(holder)), "alice@laptop (gen apply, pid 4242) since 2026-01-01T00:00:00Z");
  });

  test("anything else is no holder: not JSON, null, a field missing, of another type or longer than 512 characters", () => {
    const bad = [
      "not json",
      "null",
      "[]",
      ...(["who", "command", "since", "pid"] as const).map((field) => JSON.stringify({ ...holder, [field]: undefined })),
      ...(["who", "command", "since"] as const).map((field) => JSON.stringify({ ...holder, [field]: 7 })),
      ...(["who", "command", "since"] as const).map((field) => JSON.stringify({ ...holder, [field]: "x".repeat(513) })),
      ...(["who", "command", "since"] as const).map((field) => JSON.stringify({ ...holder, [field]: ["x"] })),
      JSON.stringify({ ...holder, pid: "4242" }),
      JSON.stringify({ ...holder, pid: 42.5 }),
    ];
    for (const json of bad) {
      assert.equal(parseLockHolder(json), undefined, json);
      assert.equal(describeLockHolder(json), "an unknown holder (the lock has no readable holder.json)", json);
    }
    const longest = { ...holder, who: "w".repeat(512), command: "c".repeat(512), since: "s".repeat(512) };
    assert.deepEqual(parseLockHolder(JSON.stringify(longest)), longest);
  });

  test("a lock is stale only when this user left it and its process is gone", () => {
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const deadPid = Number(gone.stdout);
    assert.equal(leftByDeadLocalRun({ ...holder, pid: deadPid }, holder.who), true);
    assert.equal(leftByDeadLocalRun({ ...holder, pid: deadPid }, "bob@laptop"), false, "another user's lock");
    assert.equal(leftByDeadLocalRun({ ...holder, pid: process.pid }, holder.who), false, "a running process");
    assert.equal(leftByDeadLocalRun({ ...holder, pid: 1.5 }, holder.who), false, "no process id");
  });
});

describe("taking over a held lock", () => {
  const shell = { transport: { describe: "root@web1:22" } } as unknown as ServerShell;
  const me = "alice@laptop";
  const deadPid = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
  const held = (holding: object | string): LockAnswer => ({ taken: false, held: typeof holding === "string" ? holding : JSON.stringify(holding) });
  /** A round trip whose answers are given in order; `forced` records how each was sent. */
  const scripted = (...answers: LockAnswer[]) => {
    const forced: boolean[] = [];
    const send = async (force: boolean) => {
      forced.push(force);
      return [answers[forced.length - 1]!, `rest ${forced.length}`] as const;
    };
    return { send, forced };
  };

  test("a lock this user's dead run left is taken over in a second round trip, forced, and said", async () => {
    const round = scripted(held({ ...holder, who: me, pid: deadPid }), { taken: true });
    const taken = await lockedRoundTrip(shell, { ...holder, who: me }, false, round.send);
    assert.deepEqual(round.forced, [false, true]);
    assert.equal(taken.rest, "rest 2");
    assert.equal(taken.replaced, `${me} (gen apply, pid ${deadPid}) since ${holder.since}, whose process is gone`);
  });

  test("an answer already in hand stands for the first round trip: only the takeover is sent", async () => {
    const round = scripted({ taken: true });
    const taken = await lockedRoundTrip(shell, { ...holder, who: me }, false, round.send, [held({ ...holder, who: me, pid: deadPid }), "rest 0"]);
    assert.deepEqual(round.forced, [true]);
    assert.equal(taken.rest, "rest 1");
    const refused = scripted({ taken: true });
    await assert.rejects(
      lockedRoundTrip(shell, { ...holder, who: me }, false, refused.send, [held({ ...holder, who: "bob@desk" }), "rest 0"]),
      /is locked by bob@desk/,
    );
    assert.deepEqual(refused.forced, [], "nothing sent: the answer in hand said by whom");
  });

  test("someone who took the lock between the two round trips keeps it: a refusal, not a takeover", async () => {
    const round = scripted(held({ ...holder, who: me, pid: deadPid }), held({ ...holder, who: "bob@desk" }));
    await assert.rejects(lockedRoundTrip(shell, { ...holder, who: me }, false, round.send), {
      name: "GenError",
      message: `root@web1:22 is locked by ${me} (gen apply, pid ${deadPid}) since ${holder.since}`,
    });
    assert.deepEqual(round.forced, [false, true]);
  });

  test("a lock whose holder cannot be read, or held by a running process or another user, is refused without a second round trip", async () => {
    for (const holding of ["not json", { ...holder, who: me, pid: process.pid }, { ...holder, who: "bob@desk", pid: deadPid }]) {
      const round = scripted(held(holding), { taken: true });
      await assert.rejects(lockedRoundTrip(shell, { ...holder, who: me }, false, round.send), (error: Error & { exitCode?: number }) => {
        assert.match(error.message, /^root@web1:22 is locked by /);
        assert.equal(error.exitCode, 1);
        return true;
      });
      assert.deepEqual(round.forced, [false], JSON.stringify(holding));
    }
  });
});
