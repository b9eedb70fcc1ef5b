// uid/gid -> name tables from passwd/group text (the local files, or `getent` output over SSH).

export interface IdNames {
  users: Map<number, string>;
  groups: Map<number, string>;
}

/** Parses `name:x:id:...` lines; malformed lines are skipped, the first name for an id wins. */
export function parseIdTable(text: string): Map<number, string> {
  const table = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [name, , id] = line.split(":");
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    if (!table.has(Number(id))) table.set(Number(id), name);
  }
  return table;
}

/** The name for an id, or the number itself when the server has no name for it (as `ls -l` does). */
export function nameOf(table: Map<number, string>, id: number): string {
  return table.get(id) ?? String(id);
}

/** Runs `load` once, on first use, and shares the promise (name tables are read once per transport). */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}
