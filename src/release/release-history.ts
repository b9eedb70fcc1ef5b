// Which releases are good: the server's release log (releases.log) and the release folders in, each release's
// status and the release a rollback goes to out. Pure; the log is the deploy user's file, so every line is checked
// and anything else is left out.
//
// The rule, for each release folder:
// - no deployment.json: "unfinished" (a deploy stopped while building it, or a folder made by hand);
// - else the last record of the log that judges it decides (the log's order, not its clocks):
//   deploy "deployed", or rollback "switched" to it (switched, restarted): "good";
//   deploy "rolled-back" (switched back after a failed restart or smoke check), or rollback "switched" away from it
//   to an older release (`from`, an operator's rollback): "rolled-back";
//   deploy "failed", or rollback "failed" to it (its restart failed after the switch): "failed";
// - no record at all (an older gen, a log cut short or lost): "good", since it was finished.
// A rollback forward (to a newer release) judges only its target. The previous release is the newest good one
// older than the live one: pruning keeps it, rollback goes to it, deploy names it.
import * as z from "zod/mini";
import { visibleText } from "../server/server-text.js";

export type ReleaseStatus = "good" | "rolled-back" | "failed" | "unfinished";

export interface ReleaseLogEntry {
  at: string;
  who: string;
  command: "deploy" | "rollback";
  release: string;
  commit?: string;
  result: "deployed" | "failed" | "rolled-back" | "switched";
  error?: string;
  /** A rollback's release it switched away from (gen before this field did not write it). */
  from?: string;
}

// zod/mini as gen's bundle has it (no optional, no number): the optional fields are read by hand below.
const EntrySchema = z.object({
  at: z.string(),
  who: z.string(),
  command: z.literal(["deploy", "rollback"]),
  release: z.string(),
  result: z.literal(["deployed", "failed", "rolled-back", "switched"]),
});

/** A line longer than this is no line gen wrote (its error is cut to ERROR_CHARS): it is left out unread. */
export const LOG_LINE_CHARS = 16384;
/** The error text a record keeps. */
export const ERROR_CHARS = 2000;
/** A release folder's name: its deploy's UTC time (releaseIdFor). */
export const RELEASE_ID = /^\d{8}T\d{6}Z$/;

/** The records of the log's text, in order; a line that is not one (cut short, junk, too long) is left out. */
export function parseReleaseLogText(text: string): ReleaseLogEntry[] {
  return text.split("\n").flatMap((line) => {
    const entry = line.length <= LOG_LINE_CHARS ? parseLogLine(line) : undefined;
    return entry ? [entry] : [];
  });
}

function parseLogLine(line: string): ReleaseLogEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const checked = z.safeParse(EntrySchema, value);
  if (!checked.success || !RELEASE_ID.test(checked.data.release)) return undefined;
  const raw = value as Record<string, unknown>;
  const text = (field: unknown, max: number) => (typeof field === "string" ? visibleText(field.slice(0, max)) : undefined);
  const commit = typeof raw.commit === "string" && /^[0-9a-f]{7,64}$/.test(raw.commit) ? raw.commit : undefined;
  const error = text(raw.error, ERROR_CHARS);
  const from = typeof raw.from === "string" && RELEASE_ID.test(raw.from) ? raw.from : undefined;
  return {
    at: text(checked.data.at, 64)!,
    who: text(checked.data.who, 256)!,
    command: checked.data.command,
    release: checked.data.release,
    result: checked.data.result,
    ...(commit ? { commit } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(from ? { from } : {}),
  };
}

export type Verdict = Exclude<ReleaseStatus, "unfinished">;

/** What one record says of the releases it judges (the rule above). */
export function verdictsOf(entry: ReleaseLogEntry): [string, Verdict][] {
  const own: Verdict = entry.result === "deployed" || entry.result === "switched" ? "good" : entry.result;
  const away: [string, Verdict][] =
    entry.command === "rollback" && entry.result === "switched" && entry.from && entry.from > entry.release ? [[entry.from, "rolled-back"]] : [];
  return [[entry.release, own], ...away];
}

export interface Judgement {
  verdict: Verdict;
  /** The record that judged it last. */
  record: ReleaseLogEntry;
}

/** Each release's last judgement in the log. */
export function judgements(log: ReleaseLogEntry[]): Map<string, Judgement> {
  const judged = new Map<string, Judgement>();
  for (const record of log) for (const [id, verdict] of verdictsOf(record)) judged.set(id, { verdict, record });
  return judged;
}

/** The rule above for one release. */
export function releaseStatus(finished: boolean, judgement: Judgement | undefined): ReleaseStatus {
  if (!finished) return "unfinished";
  return judgement?.verdict ?? "good";
}

export interface ReleaseStanding {
  id: string;
  status: ReleaseStatus;
}

export interface PreviousRelease {
  /** The newest good release older than `before`; undefined when there is none. */
  id?: string;
  /** The releases between it and `before` (newest first) that are not good, with why. */
  skipped: ReleaseStanding[];
}

/** The newest good release older than `before` (the live one); with no `before`, the newest good release. */
export function previousGoodRelease(releases: ReleaseStanding[], before: string | undefined): PreviousRelease {
  const older = releases.filter((r) => before === undefined || r.id < before).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const skipped: ReleaseStanding[] = [];
  for (const release of older) {
    if (release.status === "good") return { id: release.id, skipped };
    skipped.push({ id: release.id, status: release.status });
  }
  return { skipped };
}

const STATUS_WORDS: Record<ReleaseStatus, string> = {
  good: "good",
  "rolled-back": "rolled back",
  failed: "failed",
  unfinished: "unfinished: no deployment.json",
};

/** "rolled back", "failed", ...: how a status reads in a sentence. */
export const describeStatus = (status: ReleaseStatus): string => STATUS_WORDS[status];
