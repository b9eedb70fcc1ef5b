// One lock per application on each server: a folder created with mkdir (atomic), holding who took it, from
// where and when. A second apply or deploy fails at once naming the holder; --force-unlock takes it over.
import { GenError } from "../errors.js";
import { describeLockHolder, parseLockHolder, type LockHolder } from "../lock-holder.js";
import type { Step } from "../transport/transport.js";
import { sudoRefusedHint, type ServerShell, type StepOutput } from "./server-shell.js";

export function lockDir(stateDir: string): string {
  return `${stateDir}/lock`;
}

/**
 * `owner` (apply, as root) creates the state folder owned by the deploy user, so that deploy, which runs as
 * that user without sudo, can take the same lock.
 */
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
export async function takeLock(shell: ServerShell, stateDir: string, holder: LockHolder, force: boolean, owner?: { user: string; group: string }, guarded: Step[] = []): Promise<LockTaken> {
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

async function tryLock(shell: ServerShell, stateDir: string, holder: LockHolder, force: boolean, owner: { user: string; group: string } | undefined, guarded: Step[]): Promise<LockTaken | { held: string }> {
  const dir = shell.path(lockDir(stateDir));
  const info = shell.quote(JSON.stringify(holder));
  const state = shell.path(stateDir);
  // If the deploy user does not exist yet, the folder is made anyway (preflight then reports the user), and
  // its owner is fixed by the next apply.
  const owned = owner ? `${shell.quote(owner.user)}:${shell.quote(owner.group)}` : "";
  const create = owner
    ? `mkdir -p ${state} && chmod 0750 ${state} && { chown ${owned} ${state} 2>/dev/null || true; }`
    : `[ -d ${state} ] || mkdir -p ${state}`;
  // With --force-unlock, a first step removes the lock there is: status 0 and the holder it had on stdout.
  const replace = force ? [{ name: "removing the lock", script: `[ -d ${dir} ] || exit 1\ncat ${dir}/holder.json 2>/dev/null\nrm -rf ${dir}` }] : [];
  // Taking it: status 0, or HELD with the holder on stdout, or FAILED with why mkdir failed.
  const take = {
    name: "taking the lock",
    script: [
      create,
      `if failure=$(mkdir ${dir} 2>&1); then printf '%s\\n' ${info} > ${dir}/holder.json; exit 0;`,
      `elif [ -d ${dir} ]; then cat ${dir}/holder.json 2>/dev/null; exit ${HELD};`,
      `else printf '%s' "$failure"; exit ${FAILED}; fi`,
    ].join("\n"),
  };
  const runs = await shell.steps([...replace, take, ...guarded.map((step) => ({ ...step, guarded: true }))]);
  const [removed, result] = force ? [runs[0]!, runs[1]!] : [undefined, runs[0]!];
  const out = result.stdout.trim();
  switch (result.exitCode) {
    case 0:
      return { ...(removed?.exitCode === 0 ? { replaced: describeLockHolder(removed.stdout.trim()) } : {}), guarded: runs.slice(replace.length + 1) };
    case HELD:
      return { held: out };
    case FAILED:
      throw new GenError(`cannot take the lock ${lockDir(stateDir)} on ${shell.transport.describe}: ${out}`);
  }
  throw new GenError(`cannot take the lock on ${shell.transport.describe} (exit ${result.exitCode}): ${result.stderr.trim()}`, { details: sudoRefusedHint(shell.sudo, result) });
}

const HELD = 42;
const FAILED = 43;

export async function releaseLock(shell: ServerShell, stateDir: string): Promise<void> {
  await shell.script(`rm -rf ${shell.path(lockDir(stateDir))}`, "releasing the lock");
}
