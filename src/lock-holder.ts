// What gen's server lock records (written by apply and deploy, read back by the plan): shared plain data.

export interface LockHolder {
  who: string;
  command: string;
  since: string;
  pid: number;
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
