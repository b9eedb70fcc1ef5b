// What the tests of an interrupted gen apply share (interrupts-sandbox.test.ts, interrupts-ssh.test.ts): 1500 files
// that go from one version to the other on each run, the judge of what a run left and said, the points of a run
// where a signal comes, and the second Ctrl-C.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runInterrupted, spreadOver, type InterruptedRun, type Interruption } from "../../support/interrupted-run.js";

export const COUNT = 1500;
export const FOLDER = "/etc/gen-many";
export const LOCK = "/var/lib/gen/tsosi/locks/lock";
export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP";
/** How a run must end when its point decides it. */
export type Ending = "before any file moved" | "finished" | "restored";

/** Where gen applies: the sandbox, or the fixture's sshd. */
export interface Target {
  /** The host as gen names it at the start of its lines, as a regular expression. */
  host: string;
  args: (command: string[]) => string[];
  cwd?: string;
  /** A server path as a path on this machine. */
  file: (serverPath: string) => string;
  template: string;
}

export interface Point {
  name: string;
  signal: Signal;
  /** Made just before the run (the file it waits for may only be read then). */
  interruptions: () => Interruption[];
  ending?: Ending;
  setUp?: () => Promise<void>;
  tearDown?: () => Promise<void>;
}

/** Every file reloads nginx: over SSH, that handler is where a run can be held (runOn) or made to fail (failOn). */
export const files = Array.from({ length: COUNT }, (_, i) => ({ path: `${FOLDER}/f${i}.conf`, template: "many.njk", vars: { i }, reload: ["nginx"] }));

/** "A" or "B" when every file has that version and nothing else is in the folder, else what it found. */
export function setOf(target: Target): string {
  const dir = target.file(FOLDER);
  const found = new Map<string, number>();
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const version = /^f\d+\.conf$/.test(name) ? readFileSync(join(dir, name), "utf8").trim().split(" ").pop()! : `leftover ${name}`;
    found.set(version, (found.get(version) ?? 0) + 1);
  }
  const [only] = found.keys();
  return found.size === 1 && found.get(only!) === COUNT ? only! : JSON.stringify(Object.fromEntries([...found].slice(0, 6)));
}

export function useVersion(target: Target, version: string): void {
  writeFileSync(target.template, `file {{ i }} version ${version}\n`);
}

/** The problems with what a run left, and how it ended. */
function judge(target: Target, point: Point, old: string, next: string, run: InterruptedRun): { problems: string[]; ended: string } {
  const { signal } = point;
  const set = setOf(target);
  const problems: string[] = [];
  if (set !== old && set !== next) problems.push(`the set is neither old (${old}) nor new (${next}): ${set}`);
  if (existsSync(target.file(LOCK))) problems.push("gen's lock was left");
  const host = target.host;
  const lines: [Ending, RegExp, string][] = [
    [
      "before any file moved",
      new RegExp(
        `^${host}: (interrupted \\(${signal}\\) before (any file moved|this host was started)|not started: interrupted \\(${signal}\\); nothing was changed on it)`,
        "m",
      ),
      old,
    ],
    ["finished", new RegExp(`^${host}: applied ${COUNT} files \\(${signal} came once the install had begun: finished\\)`, "m"), next],
    ["restored", new RegExp(`^apply failed on ${host} \\(${signal} came while it was under way\\): .*; every file of this apply was restored`, "m"), old],
  ];
  let ended: string;
  // Stopped by request: gen said so, did its part, and then ended by the signal, as its default action ends it.
  if (run.signal === signal && run.err.includes(`gen: ${signal}: stopping. No new step starts`)) {
    const said = lines.filter(([, line]) => line.test(`${run.out}\n${run.err}`));
    if (said.length !== 1) problems.push(`its host says ${said.length === 0 ? "nothing of what it did" : "more than one ending"}`);
    ended = said[0]?.[0] ?? "?";
    if (said[0] && said[0][2] !== set) problems.push(`${host} says "${ended}" but the set is ${set}`);
  } else if (run.signal === signal) {
    // Before any host was being changed (or once every host was done, while gen exited): stopped at once.
    ended = "stopped at once";
    if (set === next && !new RegExp(`^${host}: applied ${COUNT} files`, "m").test(run.out)) problems.push("stopped at once, yet the set is new");
  } else if (run.code === 0) {
    ended = "done before the signal";
    if (set !== next) problems.push("exit 0 but the set is not new");
  } else {
    ended = `exit ${run.code}`;
    problems.push(ended);
  }
  if (point.ending && ended !== point.ending) problems.push(`it must end "${point.ending}"; it ended "${ended}"`);
  return { problems, ended };
}

/** `gen apply --yes` from the version on the server to the other one, interrupted at `point`. */
async function interruptedApply(target: Target, point: Point): Promise<{ problems: string[]; ended: string }> {
  const old = setOf(target);
  assert.ok(old === "A" || old === "B", `the run before left a whole set: ${old}`);
  const next = old === "A" ? "B" : "A";
  useVersion(target, next);
  await point.setUp?.();
  try {
    const run = await runInterrupted(target.args(["apply", "--yes"]), point.interruptions(), target.cwd ? { cwd: target.cwd } : {});
    const { problems, ended } = judge(target, point, old, next, run);
    const shown = `${run.out.split("\n").slice(-2).join("\n")}\n${run.err}`;
    return { problems: problems.map((p) => `${point.signal} at ${point.name}: ${p}\n${shown}`), ended };
  } finally {
    await point.tearDown?.();
  }
}

/** True once the first file of the run's set was replaced on the server. */
function firstReplaced(target: Target): () => boolean {
  const first = target.file(`${FOLDER}/f0.conf`);
  const before = readFileSync(first, "utf8");
  return () => readFileSync(first, "utf8") !== before;
}

const staging = (target: Target) => ({ output: new RegExp(`^${target.host}: staging ${COUNT} files`, "m") });
const planShown = { output: /^(---|\+\+\+|change) /m };

/** The points every target has; `extra` are a target's own. */
function pointsOf(target: Target, total: number, extra: Point[]): Point[] {
  const at = (signal: Signal, name: string, interruption: Omit<Interruption, "signal">, ending?: Ending): Point => ({
    name,
    signal,
    interruptions: () => [{ ...interruption, signal }],
    ...(ending ? { ending } : {}),
  });
  return [
    at("SIGINT", "the plan shown", { at: planShown }),
    at("SIGTERM", '"staging"', { at: staging(target) }, "finished"),
    { name: "the first file replaced", signal: "SIGHUP", ending: "finished", interruptions: () => [{ at: { when: firstReplaced(target) }, signal: "SIGHUP" }] },
    ...extra,
    ...spreadOver(0.4, 0.9, 3).map((f) => at("SIGINT", `${Math.round(f * 100)} % of a run`, { at: { afterMs: Math.round(total * f) } })),
  ];
}

export async function spreadRuns(target: Target, extra: Point[], diagnostic: (text: string) => void): Promise<void> {
  // A full run's duration, from one version to the other.
  const old = setOf(target);
  useVersion(target, old === "A" ? "B" : "A");
  const started = performance.now();
  const full = await runInterrupted(target.args(["apply", "--yes"]), [], target.cwd ? { cwd: target.cwd } : {});
  const total = performance.now() - started;
  assert.equal(full.code, 0, full.err);
  const endings: string[] = [];
  for (const point of pointsOf(target, total, extra)) {
    const { problems, ended } = await interruptedApply(target, point);
    // The next run starts from what this one left: a problem ends the test here, with this run's words.
    assert.deepEqual(problems, [], `a full run takes ${Math.round(total)} ms`);
    endings.push(`${point.signal} at ${point.name}: ${ended}`);
  }
  diagnostic(`a full run took ${Math.round(total)} ms; ${endings.join("; ")}`);
}

/** Ctrl-C twice during the install: gen stops at once, the server puts back or finishes, the next apply converges. */
export async function secondCtrlC(target: Target, diagnostic: (text: string) => void): Promise<void> {
  const old = setOf(target);
  const next = old === "A" ? "B" : "A";
  useVersion(target, next);
  const interruptions: Interruption[] = [
    { signal: "SIGINT", at: { when: firstReplaced(target) } },
    { signal: "SIGINT", at: { output: /^gen: SIGINT: stopping/m } },
  ];
  const run = await runInterrupted(target.args(["apply", "--yes"]), interruptions, target.cwd ? { cwd: target.cwd } : {});
  assert.equal(run.signal, "SIGINT", `stopped by the second SIGINT: exit ${run.code}\n${run.err}`);
  assert.match(run.err, /^gen: second SIGINT: stopped at once\. gen's lock stays on each host below, which was:$/m);
  assert.match(run.err, new RegExp(`^ {2}${target.host}: staging, checking and installing the files, running the handlers and writing the record$`, "m"));
  assert.match(run.err, /The next apply from this account on this machine takes the lock over/);
  // The server's side ends on its own: the install program, its output gone, puts back what it moved (or it had
  // moved every file already). Until then the set is on its way from one whole state to the other.
  let set = setOf(target);
  for (let i = 0; i < 3000 && set !== old && set !== next; i++) {
    await sleep(20);
    set = setOf(target);
  }
  assert.ok(set === old || set === next, `after gen stopped at once, the server's install left: ${set}`);
  diagnostic(`after the second Ctrl-C the set was ${set === old ? "old: put back" : "new: the install had finished"}`);
  assert.ok(existsSync(target.file(LOCK)), "the lock stays, as gen said");
  const again = await runInterrupted(target.args(["apply", "--yes"]), [], target.cwd ? { cwd: target.cwd } : {});
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, new RegExp(`^${target.host}: took over the lock of .* whose process is gone$`, "m"));
  assert.equal(setOf(target), next);
  assert.equal(existsSync(target.file(LOCK)), false);
}
