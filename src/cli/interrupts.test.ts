// catchInterrupts' choice between stopping at once and stopping once the command has said what it did. A file of its
// own: a signal taken as a request leaves gen to end by it (endBySignal), which no other test may call after it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { catchInterrupts } from "./interrupts.js";
import { createOutput } from "./output.js";

/** The interrupts of `command` with what they print and the signals gen would end itself by (process.kill stubbed). */
function caught(command: string) {
  const lines: string[] = [];
  const killed: (string | number | undefined)[] = [];
  const kill = process.kill;
  process.kill = ((_pid: number, signal?: string | number) => {
    killed.push(signal);
    return true;
  }) as typeof process.kill;
  const interrupts = catchInterrupts(createOutput({ out: (t) => lines.push(t), err: (t) => lines.push(t) }, { color: false }), command);
  return {
    interrupts,
    lines,
    killed,
    done: () => {
      interrupts.release();
      process.kill = kill;
    },
  };
}

test("a signal before any host began stops gen at once: nothing of this run is under way", () => {
  const { interrupts, lines, killed, done } = caught("rollback");
  try {
    process.emit("SIGINT", "SIGINT");
    assert.deepEqual(killed, ["SIGINT"]);
    assert.deepEqual(lines, ["gen: SIGINT: stopped; no host was being changed by this rollback"]);
    assert.equal(interrupts.signal, undefined);
  } finally {
    done();
  }
});

test("a signal once the host that began has finished lets the command show what it did, then gen ends by it", () => {
  const { interrupts, lines, killed, done } = caught("rollback");
  try {
    const host = interrupts.forHost("web1");
    host.doing("switching /var/www/current to 20260101T000000Z and restarting");
    host.doing(undefined);
    process.emit("SIGTERM", "SIGTERM");
    assert.deepEqual(killed, [], "gen did not stop before saying what the rollback did");
    assert.equal(interrupts.signal, "SIGTERM");
    assert.equal(host.signal, "SIGTERM", "a host not yet started does not start");
    assert.equal(interrupts.exitCode(0), 143);
    assert.match(lines.join(""), /^gen: SIGTERM: stopping\. No host is being changed by this rollback now and no new one starts/);
    process.emit("SIGTERM", "SIGTERM");
    assert.deepEqual(killed, ["SIGTERM"], "a second signal stops it at once");
  } finally {
    done();
  }
});
