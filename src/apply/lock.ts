// One lock per application on each server: a folder created with mkdir (atomic), holding who took it, from
// where and when. A second apply or deploy fails at once naming the holder; --force-unlock takes it over.
import { GenError } from "../errors.js";
import { describeLockHolder, parseLockHolder, type LockHolder } from "../lock-holder.js";
import { sudoRefusedHint, type ServerShell } from "./server-shell.js";

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

export async function takeLock(shell: ServerShell, stateDir: string, holder: LockHolder, force: boolean, owner?: { user: string; group: string }): Promise<{ replaced?: string }> {
  const first = await tryLock(shell, stateDir, holder, force, owner);
  if (!("held" in first)) return first;
  const parsed = parseLockHolder(first.held);
  if (!force && parsed && leftByDeadLocalRun(parsed, holder.who)) {
    const taken = await tryLock(shell, stateDir, holder, true, owner);
    if (!("held" in taken)) return { replaced: `${describeLockHolder(first.held)}, whose process is gone` };
  }
  throw new GenError(`${shell.transport.describe} is locked by ${describeLockHolder(first.held)}`, {
    details: ["Another apply or deploy is running, or one was interrupted. If nobody is running one, take the lock over with --force-unlock."],
    exitCode: 1,
  });
}

async function tryLock(shell: ServerShell, stateDir: string, holder: LockHolder, force: boolean, owner?: { user: string; group: string }): Promise<{ replaced?: string } | { held: string }> {
  const dir = shell.path(lockDir(stateDir));
  const info = shell.quote(JSON.stringify(holder));
  const state = shell.path(stateDir);
  // If the deploy user does not exist yet, the folder is made anyway (preflight then reports the user), and
  // its owner is fixed by the next apply.
  const owned = owner ? `${shell.quote(owner.user)}:${shell.quote(owner.group)}` : "";
  const create = owner
    ? `mkdir -p ${state} && chmod 0750 ${state} && { chown ${owned} ${state} 2>/dev/null || true; }`
    : `[ -d ${state} ] || mkdir -p ${state}`;
  // The outcome is the step's status; stdout carries the holder found (held, or replaced) or why mkdir failed.
  const [result] = await shell.steps([
    {
      name: "taking the lock",
      script: [
        create,
        force ? `if [ -d ${dir} ]; then cat ${dir}/holder.json 2>/dev/null; rm -rf ${dir}; replaced=1; else replaced=0; fi` : "replaced=0",
        `if failure=$(mkdir ${dir} 2>&1); then printf '%s\\n' ${info} > ${dir}/holder.json; exit $((${LOCK.taken} + replaced));`,
        `elif [ -d ${dir} ]; then cat ${dir}/holder.json 2>/dev/null; exit ${LOCK.held};`,
        `else printf '%s' "$failure"; exit ${LOCK.failed}; fi`,
      ].join("\n"),
    },
  ]);
  const out = result!.stdout.trim();
  switch (result!.exitCode) {
    case LOCK.taken:
      return {};
    case LOCK.taken + 1:
      return { replaced: describeLockHolder(out) };
    case LOCK.held:
      return { held: out };
    case LOCK.failed:
      throw new GenError(`cannot take the lock ${lockDir(stateDir)} on ${shell.transport.describe}: ${out}`);
  }
  throw new GenError(`cannot take the lock on ${shell.transport.describe} (exit ${result!.exitCode}): ${result!.stderr.trim()}`, { details: sudoRefusedHint(shell.sudo, result!) });
}

/** The lock step's statuses (0 is not among them: it would hide a step that stopped early). */
const LOCK = { taken: 40, held: 42, failed: 43 } as const;

export async function releaseLock(shell: ServerShell, stateDir: string): Promise<void> {
  await shell.script(`rm -rf ${shell.path(lockDir(stateDir))}`, "releasing the lock");
}
