// The connect timeout with a fake clock: it fires after exactly its time, and the time spent waiting for a
// passphrase does not count. No real time passes, so the test holds on any machine.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startClock, type Timers } from "./ssh-connect.js";

function fakeTimers() {
  let now = 0;
  let pending: { at: number; callback: () => void; id: number } | undefined;
  let ids = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (callback, ms) => {
      pending = { at: now + ms, callback, id: ++ids };
      return pending.id;
    },
    clearTimeout: (id) => {
      if (pending?.id === id) pending = undefined;
    },
  };
  const advance = (ms: number) => {
    now += ms;
    if (pending && pending.at <= now) {
      const { callback } = pending;
      pending = undefined;
      callback();
    }
  };
  return { timers, advance };
}

describe("connect clock", () => {
  it("expires after its time, not before", async () => {
    const { timers, advance } = fakeTimers();
    const clock = startClock(1000, timers);
    advance(999);
    assert.equal(clock.hasExpired(), false);
    advance(1);
    assert.equal(clock.hasExpired(), true);
    await assert.rejects(clock.expired, /timeout/);
  });

  it("does not count the time spent waiting for a passphrase", async () => {
    const { timers, advance } = fakeTimers();
    const clock = startClock(1000, timers);
    advance(400);
    await clock.pausedDuring(async () => {
      advance(60_000);
      assert.equal(clock.hasExpired(), false, "paused while the human types");
    });
    advance(599);
    assert.equal(clock.hasExpired(), false, "600 ms were left when the prompt came");
    advance(1);
    assert.equal(clock.hasExpired(), true);
  });

  it("stops for good once the connection is up", () => {
    const { timers, advance } = fakeTimers();
    const clock = startClock(1000, timers);
    clock.stop();
    advance(5000);
    assert.equal(clock.hasExpired(), false);
  });
});
