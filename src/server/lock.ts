// One lock per application on each server: a folder created with mkdir (atomic), holding who took it, from
// where and when. A second apply or deploy fails at once naming the holder; --force-unlock takes it over.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { describeLockHolder, HOLDER_LIMIT, lockDir, parseLockHolder, type LockHolder } from "./lock-holder.js";
import { readRoot, safeReadFunctions } from "./safe-read.js";
import * as z from "zod/mini";
import { LinkRecord, linkRefusal } from "./link-safe.js";
import { jsonStringFunction, oneRecord, type Parsed } from "../transport/step-records.js";
import { programText } from "../program-text.js";
import type { CommandResult, Step } from "../transport/transport.js";
import { sudoRefusedHint, type ServerShell, type StepOutput } from "./server-shell.js";

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

export interface LockTaken {
  replaced?: string;
  /** The answers of `guarded`, run in the same round trip once the lock was taken. */
  guarded: StepOutput[];
}

/**
 * `guarded`: steps that need the lock (clean-up, reading the server again), sent with it in one round trip and
 * run only if it was taken.
 */
export async function takeLock(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  force: boolean,
  owner?: { user: string; group: string },
  guarded: Step[] = [],
): Promise<LockTaken> {
  const first = await tryLock(shell, stateDir, holder, force, owner, guarded);
  if (!("held" in first)) return first;
  const parsed = parseLockHolder(first.held);
  if (!force && parsed && leftByDeadLocalRun(parsed, holder.who)) {
    const taken = await tryLock(shell, stateDir, holder, true, owner, guarded);
    if (!("held" in taken)) return { ...taken, replaced: `${describeLockHolder(first.held)}, whose process is gone` };
  }
  throw new GenError(`${shell.transport.describe} is locked by ${describeLockHolder(first.held)}`, {
    details: ["Another apply or deploy is running, or one was interrupted. If nobody is running one, take the lock over with --force-unlock."],
    exitCode: 1,
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

/** The two lock steps: with --force-unlock, one that removes the lock there is; then the one that takes it. */
export function lockSteps(shell: ServerShell, stateDir: string, holder: LockHolder, force: boolean, owner?: { user: string; group: string }): Step[] {
  // lock.sh's functions, after those they call; a deploy user's lock may hold anything: its holder is read as
  // safe-read.ts reads (no link, no FIFO, a few KB).
  const functions = [jsonStringFunction(), safeReadFunctions(), programText(import.meta.url, "./lock.sh")].join("\n");
  const where = [readRoot(shell.transport.root), posix.normalize(stateDir)].map(shell.quote).join(" ");
  // Status 0 and the holder it had, or status 1 when there is no lock.
  const replace = force ? [{ name: REMOVING, script: `${functions}\ngen_remove_lock ${where} ${HOLDER_LIMIT}` }] : [];
  // Status 0 when taken; otherwise HELD, FAILED or LINKED, and a record saying by whom, why, or which link.
  const state = owner ? `gen_root_state ${where} ${shell.quote(owner.group)}` : `gen_user_state ${where}`;
  const take = { name: TAKING, script: `${functions}\n${state}\ngen_take_lock ${where} ${shell.quote(JSON.stringify(holder))} ${HOLDER_LIMIT}` };
  return [...replace, take];
}

export type LockAnswer = { taken: true; replaced?: string } | { taken: false; held: string };

/**
 * The lock steps' answers (as many as lockSteps made): taken (and whose lock --force-unlock replaced), or held by
 * whom; an error value when it could not be taken for another reason, or the output is not the records.
 */
export function parseLockSteps(where: string, sudo: boolean, lockPath: string, runs: CommandResult[]): Parsed<LockAnswer> {
  const [removed, taking] = runs.length > 1 ? [runs[0], runs[1]!] : [undefined, runs[0]!];
  let replaced: string | undefined;
  if (removed?.exitCode === 0) {
    const parsed = oneRecord(`${REMOVING} on ${where}`, removed, LockRecord);
    if (!parsed.ok) return parsed;
    if (parsed.value.kind === "removed") replaced = describeLockHolder(parsed.value.holder.trim());
  }
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
      return { ok: true, value: { taken: true, ...(replaced ? { replaced } : {}) } };
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

async function tryLock(
  shell: ServerShell,
  stateDir: string,
  holder: LockHolder,
  force: boolean,
  owner: { user: string; group: string } | undefined,
  guarded: Step[],
): Promise<LockTaken | { held: string }> {
  const steps = lockSteps(shell, stateDir, holder, force, owner);
  const runs = await shell.steps([...steps, ...guarded.map((step) => ({ ...step, guarded: true }))]);
  const answer = parseLockSteps(shell.transport.describe, shell.sudo, lockDir(stateDir), runs.slice(0, steps.length));
  if (!answer.ok) throw answer.error;
  if (!answer.value.taken) return { held: answer.value.held };
  return { ...(answer.value.replaced ? { replaced: answer.value.replaced } : {}), guarded: runs.slice(steps.length) };
}

/** Throws a GenError with the command's output when the lock could not be removed. */
export async function releaseLock(shell: ServerShell, stateDir: string): Promise<void> {
  await shell.must("releasing the lock", `rm -rf ${shell.path(lockDir(stateDir))}`);
}
