// Typed steps through the local transport (the real sh and session driver): each step's value comes back in the place
// of its part, a chain's skipped parts read as SKIPPED, a guarded group runs only after its guard, both halves of a
// joined pair run, and everything goes in one round trip.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import { GenError } from "../errors.js";
import type { Step } from "./remote-session.js";
import {
  attempt,
  both,
  chain,
  chainEach,
  combine,
  each,
  every,
  guardedBy,
  optional,
  runStep,
  runSteps,
  SKIPPED,
  stepSender,
  type StepSender,
  type TypedStep,
} from "./typed-steps.js";

const { transport } = localServer("typed-steps");

/** The local session, counting round trips and keeping what was sent. */
function counting(): StepSender & { trips: Step[][] } {
  const inner = stepSender(transport, { sudo: false });
  const trips: Step[][] = [];
  return { trips, send: (steps) => (trips.push(steps), inner.send(steps)) };
}

/** Prints `text` and exits with `status`; its value is what it printed, a number when asked. */
const say = (text: string, status = 0): TypedStep<string> => ({
  name: `saying ${text}`,
  script: `printf %s '${text}'; exit ${status}`,
  parse: (run) => ({ ok: true, value: `${run.stdout}:${run.exitCode}` }),
});
const count = (n: number): TypedStep<number> => ({ name: `counting ${n}`, script: `echo ${n}`, parse: (run) => ({ ok: true, value: Number(run.stdout) }) });
const broken: TypedStep<never> = { name: "a broken step", script: "echo garbage", parse: () => ({ ok: false, error: new GenError("a broken step: garbage") }) };

describe("typed steps", () => {
  test("values come back in the places of their parts, of their own types, in one round trip", async () => {
    const on = counting();
    const [text, number, list, none, some] = await runSteps(on, [say("a"), count(2), each([count(3), count(4)]), optional(undefined), optional(count(5))]);
    const typed: [string, number, number[], undefined, number | undefined] = [text, number, list, none, some];
    assert.deepEqual(typed, ["a:0", 2, [3, 4], undefined, 5]);
    assert.equal(on.trips.length, 1);
    assert.equal(on.trips[0]!.length, 5);
  });

  test("a chain stops at its first failure: the parts after it read as skipped", async () => {
    const [first, second, third] = await runStep(counting(), chain(say("a"), say("b", 3), say("c")));
    assert.deepEqual([first, second, third], ["a:0", "b:3", SKIPPED]);
    const handlers = await runStep(counting(), chainEach([say("x"), say("y", 1), say("z")]));
    assert.deepEqual(handlers, ["x:0", "y:1", SKIPPED]);
  });

  test("an empty part at the head of a chain leaves the next one first: it does not wait on an earlier round trip", async () => {
    const on = counting();
    await runStep(on, plainFailure);
    const [none, after] = await runStep(on, chain(optional(undefined), say("runs")));
    assert.deepEqual([none, after], [undefined, "runs:0"]);
    assert.equal(on.trips[1]![0]!.afterSuccess, undefined);
  });

  test("a guarded group runs only when its guard succeeded, and reads as skipped as a whole otherwise", async () => {
    const [[taken, rest]] = await runSteps(counting(), [guardedBy(say("lock"), say("g1", 1), count(7))]);
    assert.deepEqual([taken, rest], ["lock:0", ["g1:1", 7]]);
    const [held, skipped] = await runStep(counting(), guardedBy(say("held", 42), count(8)));
    assert.deepEqual([held, skipped], ["held:42", SKIPPED]);
  });

  test("both halves of a joined pair run; a failure of either stops what is chained after them", async () => {
    const [[a, b], after] = await runStep(counting(), chain(both(say("first", 3), say("second")), say("after")));
    assert.deepEqual([a, b, after], ["first:3", "second:0", SKIPPED]);
    const [[c, d], ran] = await runStep(counting(), chain(both(say("first"), say("second")), say("after")));
    assert.deepEqual([c, d, ran], ["first:0", "second:0", "after:0"]);
  });

  test("every step of a group runs and reports; what is chained after runs only when all succeeded, in one round trip", async () => {
    const on = counting();
    const [staged, checks, install] = await runStep(on, chain(say("stage"), every([say("a"), say("b", 2), say("c")]), say("install")));
    assert.deepEqual([staged, checks, install], ["stage:0", ["a:0", "b:2", "c:0"], SKIPPED]);
    const [, passed, installed] = await runStep(on, chain(say("stage"), every([say("a"), say("b")]), say("install")));
    assert.deepEqual([passed, installed], [["a:0", "b:0"], "install:0"]);
    const [failed, none, after] = await runStep(on, chain(say("stage", 1), every([say("a"), say("b")]), say("install")));
    assert.deepEqual([failed, none, after], ["stage:1", SKIPPED, SKIPPED]);
    assert.equal(on.trips.length, 3);
  });

  test("the first part whose answer cannot be read throws, in the order of the parts; attempt makes it a value", async () => {
    await assert.rejects(runSteps(counting(), [count(1), broken, { ...broken, name: "another" }]), /^GenError: a broken step: garbage$/);
    const [value, error] = await runSteps(counting(), [attempt(count(1)), attempt(broken)]);
    assert.deepEqual(value, { ok: true, value: 1 });
    assert.ok(!error.ok && error.error.message === "a broken step: garbage");
  });

  test("combine reads parts into one value; nothing to send sends nothing", async () => {
    assert.equal(
      await runStep(
        counting(),
        combine([count(2), count(3)], ([x, y]) => ({ ok: true, value: x * y })),
      ),
      6,
    );
    const on = counting();
    assert.deepEqual(await runSteps(on, [each([]), optional(undefined)]), [[], undefined]);
    assert.equal(on.trips.length, 0);
  });
});

const plainFailure: TypedStep<void> = { name: "failing", script: "exit 1", parse: () => ({ ok: true, value: undefined }) };
