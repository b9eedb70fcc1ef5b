// One lock per application on each server: a folder created with mkdir (atomic), holding who took it, from
// where and when. A second apply or deploy fails at once naming the holder; --force-unlock takes it over.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { describeLockHolder, HOLDER_LIMIT, lockDir, parseLockHolder, type LockHolder } from "./lock-holder.js";
import { readRoot, safeReadFunctions } from "./safe-read.js";
import * as z from "zod/mini";
import { LinkRecord, linkRefusal } from "./link-safe.js";
import { jsonStringFunction, oneRecord, parseRecords, type Parsed } from "../transport/step-records.js";
import type { LockRow } from "./root-files.js";
import { programText } from "../program-text.js";
import {
  attempt,
  combine,
  each,
  guardedBy,
  optional,
  runStep,
  SKIPPED,
  type ResultsOf,
  type StepGroup,
  type StepOutput,
  type StepPart,
  type StepScript,
  type TypedStep,
} from "../transport/typed-steps.js";
import { statusStep, sudoRefusedHint, type ServerShell } from "./server-shell.js";

export { lockDir };

/**
 * A lock left by a run of this same user on this same machine whose process is gone (Ctrl-C, a killed
 * process) is stale and is taken over without --force-unlock.
 */
export function leftByDeadLocalRun(holder: LockHolder, me: string): boolean {
  if (holder.who !== me || !Number.isInteger(holder.pid)) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** The owner and group of the lock's folders as root makes them for apply (the deploy group may write in STATE/locks). */
export function lockOwner(env: Environment): Owner {
  return { user: env.server.deployUser, group: env.server.deployGroup };
}

export interface LockTaken<G> {
  replaced?: string;
  /** The values of `guarded`, run in the same round trip once the lock was taken, or the first that could not be read. */
  guarded: Parsed<G>;
}

type Owner = { user: string; group: string };

/**
 * `guarded`: steps that need the lock (clean-up, reading the server again), sent with it in one round trip and
 * run only if it was taken. Their values come back as a Parsed, so that the caller, who holds the lock, can release it
 * when one cannot be read.
 */
export async function takeLock<const G extends readonly StepPart<unknown>[] = []>(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  force: boolean,
  owner?: Owner,
  guarded?: G,
): Promise<LockTaken<ResultsOf<G>>> {
  const taken = await lockedRoundTrip(shell, holder, force, (force) => tryLock(shell, stateDir, holder, force, owner, guarded ?? ([] as unknown as G)));
  return { ...(taken.replaced ? { replaced: taken.replaced } : {}), guarded: taken.rest };
}

/**
 * A round trip that starts by taking the lock (`send`: the lock's answer, and what came with it). A lock left by a dead
 * run of this user here is taken over (the round trip sent again, forcing it); one held by anyone else throws.
 * `answered`: the first round trip's answer when the caller already has it (a read that tried the lock on its way).
 */
export async function lockedRoundTrip<R>(
  shell: ServerShell,
  holder: LockHolder,
  force: boolean,
  send: (force: boolean) => Promise<readonly [LockAnswer, R]>,
  answered?: readonly [LockAnswer, R],
): Promise<{ replaced?: string; rest: R }> {
  const [first, rest] = answered ?? (await send(force));
  if (first.taken) return { ...(first.replaced ? { replaced: first.replaced } : {}), rest };
  const parsed = parseLockHolder(first.held);
  if (!force && parsed && leftByDeadLocalRun(parsed, holder.who)) {
    const [taken, retried] = await send(true);
    if (taken.taken) return { replaced: `${describeLockHolder(first.held)}, whose process is gone`, rest: retried };
  }
  throw new GenError(`${shell.transport.describe} is locked by ${describeLockHolder(first.held)}`, {
    details: ["Another apply or deploy is running, or one was interrupted. If nobody is running one, take the lock over with --force-unlock."],
    exitCode: 1,
  });
}

/**
 * A program that takes the lock itself, as lock.sh takes it as root (the same folders, owners, refusals, records and
 * statuses), and goes on under it in the same process: root_files.py's locked-probe, which reads the server under
 * apply's lock (one process where lock.sh needed a stat and a mkdir, and one step fewer). `script`: its step, given
 * the lock to take; its output starts with the lock's record. `parse`: the value of its work, from the rest of its answer.
 */
export interface LockCarrier<C> {
  script: (lock: LockRow) => StepScript;
  parse: (rest: StepOutput) => Parsed<C>;
}

/** takeLock as root, the lock taken by `carrier` (the probe under apply's lock), whose value comes after the guarded steps'. */
export async function takeLockWith<const G extends readonly StepPart<unknown>[], C>(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  force: boolean,
  owner: Owner,
  guarded: G,
  carrier: LockCarrier<C>,
): Promise<LockTaken<[...ResultsOf<G>, C]>> {
  const taken = await lockedRoundTrip(shell, holder, force, (force) => runStep(shell, lockGuarding(shell, stateDir, holder, force, owner, guarded, carrier)));
  return { ...(taken.replaced ? { replaced: taken.replaced } : {}), guarded: taken.rest };
}

/**
 * The lock's steps, then `guarded` (run only once it is taken), in one round trip; with a `carrier`, the lock is taken
 * by that program (as root: `owner` is required). Its value: the lock's answer, and the guarded steps' values with the
 * carrier's last (or the first that could not be read).
 */
export function lockGuarding<const G extends readonly StepPart<unknown>[], C>(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  force: boolean,
  owner: Owner | undefined,
  guarded: G,
  carrier: LockCarrier<C> | undefined,
): StepGroup<readonly [LockAnswer, Parsed<[...ResultsOf<G>, C]>]> {
  const lock = lockTaking(shell, stateDir, holder, force, owner, carrier);
  return combine([guardedBy(lock, attempt(each(guarded)))], ([[answer, rest]]) => {
    const { carried, ...taking } = answer;
    const notRun = (what: string): Parsed<never> => ({ ok: false, error: new GenError(`internal error: ${what} on ${shell.transport.describe}`) });
    const values: Parsed<[...ResultsOf<G>, C]> = !answer.taken
      ? notRun("the lock was not taken")
      : carried && !carried.ok
        ? carried
        : rest === SKIPPED
          ? notRun("the steps under the lock did not run")
          : !rest[0].ok
            ? rest[0]
            : { ok: true, value: [...rest[0].value, ...(carried ? [carried.value] : [])] as [...ResultsOf<G>, C] };
    return { ok: true, value: [taking as LockAnswer, values] as const };
  });
}

/** What the lock steps print: one record each. */
export const LockRecord = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("taken") }),
  /** Held by someone: holder.json as it is (empty when unreadable), for describeLockHolder. */
  z.object({ kind: z.literal("held"), holder: z.string() }),
  /** mkdir failed for another reason than the lock being there. */
  z.object({ kind: z.literal("failed"), reason: z.string() }),
  LinkRecord,
  /** --force-unlock removed a lock that had this holder. */
  z.object({ kind: z.literal("removed"), holder: z.string() }),
]);
export type LockRecord = z.infer<typeof LockRecord>;

// lock.sh's statuses.
const HELD = 42;
const FAILED = 43;
const LINKED = 44;
const TAKING = "taking the lock";
const REMOVING = "removing the lock";

/**
 * The lock as steps: with --force-unlock, one that removes the lock there is; then the one that takes it. Its value:
 * taken (and whose lock --force-unlock replaced), or held by whom; an error when it could not be taken for another
 * reason, or the output is not the records.
 */
export function lockSteps(shell: ServerShell, stateDir: string, holder: LockHolder, force: boolean, owner?: Owner): StepGroup<LockAnswer> {
  return lockTaking(shell, stateDir, holder, force, owner, undefined);
}

/** lockSteps, the lock taken by `carrier` when there is one: its value comes with the answer (`carried`). */
function lockTaking<C>(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  force: boolean,
  owner: Owner | undefined,
  carrier: LockCarrier<C> | undefined,
): StepGroup<LockAnswer & { carried?: Parsed<C> }> {
  const { functions, where } = lockShell(shell, stateDir);
  const host = shell.transport.describe;
  // Status 0 and the holder it had, or status 1 when there is no lock.
  const remove: TypedStep<string | undefined> = {
    name: REMOVING,
    script: `${functions}\ngen_remove_lock ${where} ${HOLDER_LIMIT}`,
    parse: (run) => parseRemoved(host, run),
  };
  return combine([optional(force ? remove : undefined), takeStep(shell, stateDir, holder, owner, carrier)], ([replaced, answer]) => ({
    ok: true,
    value: answer.taken && replaced ? { ...answer, replaced } : answer,
  }));
}

/**
 * The step that takes the lock: lock.sh's, or the carrier's. Status 0 when taken; otherwise HELD, FAILED or LINKED, and
 * a record saying by whom, why, or which link. A carrier that took the lock and then failed ends with its own status.
 */
function takeStep<C>(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  owner: Owner | undefined,
  carrier: LockCarrier<C> | undefined,
): TypedStep<LockAnswer & { carried?: Parsed<C> }> {
  const host = shell.transport.describe;
  const parse = (run: StepOutput) => parseTaking(host, shell.sudo, lockDir(stateDir), run);
  if (carrier) {
    if (!owner) throw new GenError("internal error: only root takes the lock in the program that reads under it");
    const step = carrier.script({ kind: "lock", stateDir, holder: JSON.stringify(holder), group: owner.group });
    return { ...step, parse: (run) => parseCarried(run, parse, carrier) };
  }
  const { functions, where } = lockShell(shell, stateDir);
  const state = owner ? `gen_root_state ${where} ${shell.quote(owner.group)}` : `gen_user_state ${where}`;
  return {
    name: TAKING,
    script: `${functions}\n${state}\ngen_take_lock ${where} ${shell.quote(JSON.stringify(holder))} ${HOLDER_LIMIT}`,
    parse,
  };
}

/** A carrier's answer: its first line the lock's record; once the lock is taken, the rest is its work's (whatever its status). */
function parseCarried<C>(
  run: StepOutput,
  parseLock: (run: StepOutput) => Parsed<LockAnswer>,
  carrier: LockCarrier<C>,
): Parsed<LockAnswer & { carried?: Parsed<C> }> {
  const end = run.stdout.indexOf("\n") + 1;
  const first = end > 0 ? run.stdout.slice(0, end) : run.stdout;
  const taken = parseRecords("", first, LockRecord);
  if (!(taken.ok && taken.value[0]?.kind === "taken")) return parseLock(run);
  const rest = run.stdout.slice(first.length);
  return { ok: true, value: { taken: true, carried: carrier.parse({ ...run, stdout: rest, size: Buffer.byteLength(rest) }) } };
}

/**
 * lock.sh's functions, after those they call (a deploy user's lock may hold anything: its holder is read as safe-read.ts
 * reads, no link, no FIFO, a few KB), and their ROOT and STATE arguments.
 */
function lockShell(shell: ServerShell, stateDir: string): { functions: string; where: string } {
  return {
    functions: withoutComments([jsonStringFunction(), safeReadFunctions(), programText(import.meta.url, "./lock.sh")].join("\n")),
    where: [readRoot(shell.transport.root), posix.normalize(stateDir)].map(shell.quote).join(" "),
  };
}

/**
 * The scripts without their comment lines: what is left (under 4 KB) is read by the session's shell itself, where the
 * whole went through a `head` process (remote-session.ts, LINE_READ_LIMIT). None of them has a line inside quotes.
 */
function withoutComments(script: string): string {
  return script
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n");
}

export type LockAnswer = { taken: true; replaced?: string } | { taken: false; held: string };

/** The holder of the lock --force-unlock removed, described; undefined when there was none. */
function parseRemoved(where: string, removed: StepOutput): Parsed<string | undefined> {
  if (removed.exitCode !== 0) return { ok: true, value: undefined };
  const parsed = oneRecord(`${REMOVING} on ${where}`, removed, LockRecord);
  if (!parsed.ok) return parsed;
  return { ok: true, value: parsed.value.kind === "removed" ? describeLockHolder(parsed.value.holder.trim()) : undefined };
}

function parseTaking(where: string, sudo: boolean, lockPath: string, taking: StepOutput): Parsed<LockAnswer> {
  const step = `${TAKING} on ${where}`;
  if (![0, HELD, FAILED, LINKED].includes(taking.exitCode)) {
    return {
      ok: false,
      error: new GenError(`cannot take the lock on ${where} (exit ${taking.exitCode}): ${taking.stderr.trim()}`, { details: sudoRefusedHint(sudo, taking) }),
    };
  }
  const parsed = oneRecord(step, taking, LockRecord);
  if (!parsed.ok) return parsed;
  const answer = parsed.value;
  const expected = { 0: "taken", [HELD]: "held", [FAILED]: "failed", [LINKED]: "link" }[taking.exitCode];
  if (answer.kind !== expected)
    return { ok: false, error: new GenError(`${step}: it ended with status ${taking.exitCode} but printed a "${answer.kind}" record`) };
  switch (answer.kind) {
    case "taken":
      return { ok: true, value: { taken: true } };
    case "held":
      return { ok: true, value: { taken: false, held: answer.holder.trim() } };
    case "failed":
      return { ok: false, error: new GenError(`cannot take the lock ${lockPath} on ${where}: ${answer.reason}`) };
    case "link":
      return { ok: false, error: new GenError(`apply stopped on ${where}: ${linkRefusal(answer.path)}`) };
    default:
      return { ok: false, error: new GenError(`${step}: it printed a "${answer.kind}" record`) };
  }
}

/** The lock taken by lock.sh's steps, with `guarded` after it: lockGuarding without a carrier, whose value follows none. */
async function tryLock<const G extends readonly StepPart<unknown>[]>(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  force: boolean,
  owner: Owner | undefined,
  guarded: G,
): Promise<readonly [LockAnswer, Parsed<ResultsOf<G>>]> {
  const [answer, values] = await runStep(shell, lockGuarding(shell, stateDir, holder, force, owner, guarded, undefined));
  return [answer, values as unknown as Parsed<ResultsOf<G>>];
}

/** Throws a GenError with the command's output when the lock could not be removed. */
export async function releaseLock(shell: ServerShell, stateDir: string): Promise<void> {
  await runStep(shell, releaseLockStep(shell, stateDir));
}

/** The lock released, as a step: the last of a round trip that ends a release's work. */
export function releaseLockStep(shell: ServerShell, stateDir: string): TypedStep<void> {
  return statusStep(shell, "releasing the lock", `rm -rf ${shell.path(lockDir(stateDir))}`);
}
