// What gen's server lock records (written by apply and deploy, read back by the plan): shared plain data.

export interface LockHolder {
  who: string;
  command: string;
  since: string;
  pid: number;
}

/** The holder a run writes into the lock it takes: who runs which command, since when, in which process. */
export function holderOf(command: string, run: { who: string; now: () => Date; pid: number }): LockHolder {
  return { who: run.who, command, since: run.now().toISOString(), pid: run.pid };
}

/**
 * The lock folder. The state folder is root's (apply writes backups, uploads and its record there); `locks/`
 * inside it is root's too, sticky and writable by the deploy group, so deploy (as the deploy user) can take the
 * lock while nobody can rename or replace a lock, or anything else, that root made.
 */
export function lockDir(stateDir: string): string {
  return `${stateDir}/locks/lock`;
}

/** holder.json is read up to this size: what gen writes is far smaller, and anything larger is not gen's. */
export const HOLDER_LIMIT = 4096;

/** The holder gen wrote; undefined for anything else (the lock is the deploy user's: what it holds is checked). */
export function parseLockHolder(json: string): LockHolder | undefined {
  try {
    const h = JSON.parse(json) as Partial<LockHolder> | null;
    const text = (value: unknown) => typeof value === "string" && value.length <= 512;
    if (!h || !text(h.who) || !text(h.command) || !text(h.since) || !Number.isInteger(h.pid)) return undefined;
    return { who: h.who!, command: h.command!, since: h.since!, pid: h.pid! };
  } catch {
    return undefined;
  }
}

export function describeLockHolder(json: string): string {
  const h = parseLockHolder(json);
  return h ? `${h.who} (gen ${h.command}, pid ${h.pid}) since ${h.since}` : "an unknown holder (the lock has no readable holder.json)";
}
