// The one JSON record a server-side check program (smoke checks, doctor) prints as its last line.

/** The record's `checks`, or undefined when the program failed or its last line is not the record. */
export function checksRecord<T>(stdout: string, exitCode: number): T[] | undefined {
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    const record = JSON.parse(last) as { checks?: T[] };
    if (exitCode === 0 && Array.isArray(record.checks)) return record.checks;
  } catch {
    // not the record
  }
  return undefined;
}
