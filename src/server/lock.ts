// One lock per application on each server: a folder created with mkdir (atomic), holding who took it, from
// where and when. A second apply or deploy fails at once naming the holder; --force-unlock takes it over.
import { GenError } from "../errors.js";
import { describeLockHolder, lockDir, parseLockHolder, type LockHolder } from "./lock-holder.js";
import { linkRefusal, pathComponents } from "./link-safe.js";
import type { Step } from "../transport/transport.js";
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
  const locks = shell.path(`${stateDir}/locks`);
  // A deploy user's lock may hold links: root reads its holder only when neither it nor the folder is one.
  const holderOf = `{ [ -L ${dir} ] || [ -L ${dir}/holder.json ] || cat ${dir}/holder.json 2>/dev/null; }`;
  // With --force-unlock, a first step removes the lock there is: status 0 and the holder it had on stdout.
  const replace = force ? [{ name: "removing the lock", script: `[ -d ${dir} ] || exit 1\n${holderOf}\nrm -rf ${dir}` }] : [];
  // Taking it: status 0, or HELD with the holder on stdout, or FAILED with why mkdir failed, or LINKED with the link.
  const take = {
    name: "taking the lock",
    script: [
      ...(owner ? rootStateScript(shell, stateDir, owner.group) : [`[ -d ${locks} ] || mkdir -p ${locks}`]),
      `if failure=$(mkdir ${dir} 2>&1); then printf '%s\\n' ${info} > ${dir}/holder.json; exit 0;`,
      `elif [ -d ${dir} ]; then ${holderOf}; exit ${HELD};`,
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
    case LINKED:
      throw new GenError(`apply stopped on ${shell.transport.describe}: ${linkRefusal(out)}`);
  }
  throw new GenError(`cannot take the lock on ${shell.transport.describe} (exit ${result.exitCode}): ${result.stderr.trim()}`, { details: sudoRefusedHint(shell.sudo, result) });
}

const HELD = 42;
const FAILED = 43;
const LINKED = 44;

/**
 * apply (as root) makes the state folder root's, 0755: what root writes there (uploads, backups, the record and
 * log) can no longer be replaced by a link. A state folder an older gen gave the deploy user is taken back, and
 * refused if the deploy user left a link in it. `locks/` is root's, sticky, writable by the deploy group.
 * Without root (no sudo) the chown and chmod fail and are skipped: then the SSH user owns everything anyway.
 */
function rootStateScript(shell: ServerShell, stateDir: string, group: string): string[] {
  const state = shell.path(stateDir);
  const locks = shell.path(`${stateDir}/locks`);
  const refuse = (serverPath: string) => `{ printf '%s' ${shell.quote(serverPath)}; exit ${LINKED}; }`;
  return [
    ...pathComponents(stateDir).map((c) => `if [ -L ${shell.path(c)} ]; then ${refuse(c)}; fi`),
    `was=$(stat -c %u ${state} 2>/dev/null || echo new)`,
    `mkdir -p ${state}`,
    `{ chown -h 0:0 ${state} && chmod 0755 ${state}; } 2>/dev/null || true`,
    `if [ "$was" != 0 ] && [ "$was" != new ]; then for e in ${state}/* ${state}/*/*; do if [ -L "$e" ]; then printf '%s' "${stateDir}/\${e#${state}/}"; exit ${LINKED}; fi; done; fi`,
    `if [ -L ${locks} ]; then ${refuse(`${stateDir}/locks`)}; fi`,
    `[ -d ${locks} ] || mkdir ${locks}`,
    `{ chown -h 0:${shell.quote(group)} ${locks} && chmod 1770 ${locks}; } 2>/dev/null || true`,
  ];
}

/** Throws a GenError with the command's output when the lock could not be removed. */
export async function releaseLock(shell: ServerShell, stateDir: string): Promise<void> {
  await shell.must("releasing the lock", `rm -rf ${shell.path(lockDir(stateDir))}`);
}
