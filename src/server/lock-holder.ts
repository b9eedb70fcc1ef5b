// What gen's server lock records (written by apply and deploy, read back by the plan): shared plain data.

export interface LockHolder {
  who: string;
  command: string;
  since: string;
  pid: number;
}

/**
 * The lock folder. The state folder is root's (apply writes backups, uploads and its record there); `locks/`
 * inside it is root's too, sticky and writable by the deploy group, so deploy (as the deploy user) can take the
 * lock while nobody can rename or replace a lock, or anything else, that root made.
 */
export function lockDir(stateDir: string): string {
  return `${stateDir}/locks/lock`;
}

export function parseLockHolder(json: string): LockHolder | undefined {
  try {
    return JSON.parse(json) as LockHolder;
  } catch {
    return undefined;
  }
}

export function describeLockHolder(json: string): string {
  const h = parseLockHolder(json);
  return h ? `${h.who} (gen ${h.command}, pid ${h.pid}) since ${h.since}` : "an unknown holder (the lock has no readable holder.json)";
}
