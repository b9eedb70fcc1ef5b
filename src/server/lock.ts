// One lock per application on each server: a folder created with mkdir (atomic), holding who took it, from
// where and when. A second apply or deploy fails at once naming the holder; --force-unlock takes it over.
import { GenError } from "../errors.js";
import { describeLockHolder, HOLDER_LIMIT, lockDir, parseLockHolder, type LockHolder } from "./lock-holder.js";
import { readRoot, SAFE_READ_FUNCTIONS } from "./safe-read.js";
import * as z from "zod/mini";
import { LinkRecord, linkRefusal, pathComponents, printLink } from "./link-safe.js";
import { JSON_STRING_FUNCTION, oneRecord, printRecord, printServerRecord, type Parsed } from "../transport/step-records.js";
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

const HELD = 42;
const FAILED = 43;
const LINKED = 44;
const TAKING = "taking the lock";
const REMOVING = "removing the lock";

/** The two lock steps: with --force-unlock, one that removes the lock there is; then the one that takes it. */
export function lockSteps(shell: ServerShell, stateDir: string, holder: LockHolder, force: boolean, owner?: { user: string; group: string }): Step[] {
  const dir = shell.path(lockDir(stateDir));
  const info = shell.quote(JSON.stringify(holder));
  const locks = shell.path(`${stateDir}/locks`);
  // A deploy user's lock may hold anything: its holder is read as safe-read.ts reads (no link, no FIFO, a few KB).
  const holderOf = `h=$(gen_read ${shell.quote(readRoot(shell.transport.root))} ${shell.quote(lockDir(stateDir))} holder.json ${HOLDER_LIMIT} 2>/dev/null)`;
  const record = (kind: "held" | "removed") => printServerRecord({ kind }, "holder", `"$h"`);
  // Status 0 and the holder it had, or status 1 when there is no lock.
  const replace = force
    ? [
        {
          name: REMOVING,
          script: [JSON_STRING_FUNCTION, SAFE_READ_FUNCTIONS, `[ -d ${dir} ] || exit 1`, holderOf, `rm -rf ${dir}`, record("removed")].join("\n"),
        },
      ]
    : [];
  // Status 0 when taken; otherwise HELD, FAILED or LINKED, and a record saying by whom, why, or which link.
  const take = {
    name: TAKING,
    script: [
      JSON_STRING_FUNCTION,
      SAFE_READ_FUNCTIONS,
      ...(owner ? rootStateScript(shell, stateDir, owner.group) : [`[ -d ${locks} ] || mkdir -p ${locks}`]),
      `if failure=$(mkdir ${dir} 2>&1); then printf '%s\\n' ${info} > ${dir}/holder.json; ${printRecord({ kind: "taken" } satisfies LockRecord)}; exit 0;`,
      `elif [ -d ${dir} ]; then ${holderOf}; ${record("held")}; exit ${HELD};`,
      `else ${printServerRecord({ kind: "failed" }, "reason", `"$failure"`)}; exit ${FAILED}; fi`,
    ].join("\n"),
  };
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

/**
 * apply (as root) makes the state folder root's, 0755: what root writes there (uploads, backups, the record and
 * log) can no longer be replaced by a link. A state folder an older gen gave the deploy user is taken back, and
 * refused if the deploy user left a link in it. `locks/` is root's, sticky, writable by the deploy group.
 * Without root (no sudo) the chown and chmod fail and are skipped: then the SSH user owns everything anyway.
 */
function rootStateScript(shell: ServerShell, stateDir: string, group: string): string[] {
  const state = shell.path(stateDir);
  const locks = shell.path(`${stateDir}/locks`);
  const refuse = (serverPath: string) => `{ ${printLink(serverPath)}; exit ${LINKED}; }`;
  return [
    ...pathComponents(stateDir).map((c) => `if [ -L ${shell.path(c)} ]; then ${refuse(c)}; fi`),
    // Owner and mode are set only when they differ: one stat process in the usual case, not six processes. It
    // prints a line for each folder that exists, the state folder's first (the locks folder is inside it).
    "nl='\n'",
    `st=$(stat -c '%u %a %G' ${state} ${locks} 2>/dev/null)`,
    `case "$st" in '') was=new; held=new ;; *"$nl"*) was=\${st%%"$nl"*}; held=\${st#*"$nl"} ;; *) was=$st; held=new ;; esac`,
    `[ "$was" = new ] || was=\${was% *}`,
    `[ "$was" != new ] || mkdir -p ${state}`,
    `[ "$was" = '0 755' ] || { chown -h 0:0 ${state} && chmod 0755 ${state}; } 2>/dev/null || true`,
    `if [ "\${was%% *}" != 0 ] && [ "$was" != new ]; then for e in ${state}/* ${state}/*/*; do if [ -L "$e" ]; then ${printServerRecord({ kind: "link" }, "path", `"${stateDir}/\${e#${state}/}"`)}; exit ${LINKED}; fi; done; fi`,
    `if [ -L ${locks} ]; then ${refuse(`${stateDir}/locks`)}; fi`,
    `[ "$held" != new ] || mkdir ${locks}`,
    `[ "$held" = ${shell.quote(`0 1770 ${group}`)} ] || { chown -h 0:${shell.quote(group)} ${locks} && chmod 1770 ${locks}; } 2>/dev/null || true`,
  ];
}

/** Throws a GenError with the command's output when the lock could not be removed. */
export async function releaseLock(shell: ServerShell, stateDir: string): Promise<void> {
  await shell.must("releasing the lock", `rm -rf ${shell.path(lockDir(stateDir))}`);
}
