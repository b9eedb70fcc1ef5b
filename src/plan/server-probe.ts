// One step of the host's session reads everything a plan needs in a single round trip: type, mode, owner and sha256
// of every managed file, the prepared folders, gen's lock and record, and the content of each file that differs from
// what gen rendered. It is one python3 process, the root files program's probe (src/server/root_files.py): it reaches
// every path one folder at a time without following a link anywhere on the way, opens a file without following a
// link or blocking (sha256sum once opened a FIFO put in place of the deploy user's settings file, and waited
// forever), takes only regular files and reads the record and the lock's holder only up to their limits: what the
// deploy user can write is hostile. Unchanged files are hashed on the server and never sent; the content of one that
// differs comes in the same answer, up to SHOWN_SIZE_LIMIT bytes.
import * as z from "zod/mini";
import { GenError } from "../errors.js";
import { HOLDER_LIMIT } from "../server/lock-holder.js";
import { readRefusal } from "../server/safe-read.js";
import { DRIFTED, ROOT_FILES_TOOL, rootFilesScript, type ProbePath } from "../server/root-files.js";
import { parseRecords, type Parsed } from "../transport/step-records.js";
import type { LockCarrier } from "../server/lock.js";
import { combine, type StepGroup, type StepOutput, type TypedStep } from "../transport/typed-steps.js";

export type ProbeResult =
  | {
      status: "ok";
      type: string;
      mode: string;
      owner: string;
      group: string;
      sha256?: string;
      linkTarget?: string;
      size?: number;
      /** A regular file that differs from the sha256 it was probed with, at most SHOWN_SIZE_LIMIT bytes: its content. */
      content?: string;
    }
  | { status: "missing" }
  | { status: "unreadable"; reason: string };

/** gen's record is read up to this size (what gen writes is far smaller); a larger one is not gen's. */
export const RECORD_LIMIT = 1024 * 1024;

/**
 * A server file larger than this is compared by its hash alone: its content is neither read nor shown (reading one of
 * 1.5 GB to show its difference took gen diff to 4.7 GB of memory).
 */
export const SHOWN_SIZE_LIMIT = 10 * 1024 * 1024;

export interface ProbeOutput {
  results: ProbeResult[];
  locked: boolean;
  lockHolder: string;
  record: string;
  /** The digest of the facts a plan is made from (the results without content, and the record): see root_files.py. */
  digest?: string;
  /**
   * It differs from the digest the probe was given, or an account needed by what was chained after it is missing
   * (ProbeExpectations): it failed, and what was chained after it did not run.
   */
  drifted: boolean;
  /** Whether each user and group asked for exists (only the probe under apply's lock asks: preflight's check). */
  accounts: Accounts;
}

/** Account names, and whether each exists on the server (the system's name service, as getent asks it). */
export interface Accounts {
  users: Map<string, boolean>;
  groups: Map<string, boolean>;
}

/** The users and groups whose existence the probe is to report. */
export interface AccountNames {
  users: string[];
  groups: string[];
}

/** A path to probe; `sha256`: what gen would put there, when the content of a file that differs is wanted. */
export interface ProbedPath {
  path: string;
  sha256?: string;
}

const Owned = { mode: z.string(), owner: z.string(), group: z.string() };
/** What the probe prints, one record per path (root_files.py's probe). */
const ProbeRecord = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("file"), path: z.string(), size: z.number(), sha256: z.string(), content: z.optional(z.string()), ...Owned }),
  z.object({ kind: z.literal("symlink"), path: z.string(), target: z.string(), ...Owned }),
  z.object({ kind: z.literal("directory"), path: z.string(), ...Owned }),
  z.object({ kind: z.literal("other"), path: z.string(), ...Owned }),
  z.object({ kind: z.literal("missing"), path: z.string() }),
  /** A number: a status of safe-read.ts (READ_*); a string: the system's words. */
  z.object({ kind: z.literal("unreadable"), path: z.string(), reason: z.union([z.number(), z.string()]), link: z.optional(z.string()) }),
  z.object({ kind: z.literal("read"), path: z.string(), status: z.number(), size: z.optional(z.number()), content: z.optional(z.string()) }),
  z.object({ kind: z.literal("folder"), path: z.string(), found: z.boolean() }),
  z.object({ kind: z.literal("digest"), path: z.string(), sha256: z.string() }),
  z.object({ kind: z.literal("user"), path: z.string(), found: z.boolean() }),
  z.object({ kind: z.literal("group"), path: z.string(), found: z.boolean() }),
]);
type ProbeRecord = z.infer<typeof ProbeRecord>;

const PROBING = "reading the files, gen's record and its lock";

/**
 * The probe as one step (a group, for callers that send it with others), read into one ProbeOutput: every path of
 * `paths` (server paths; the transport's `root` is passed), gen's record, their digest and, when `lockDir` is given, the
 * lock (left out under apply's own lock). With `expected` (the digest of the read a plan was reviewed from), the step
 * fails when the digest differs (`drifted`), so that what is chained after it does not run. Any other failure means
 * the session itself failed (sudo refused, no python3): an error naming `where`.
 */
export function probeSteps(
  root: string,
  paths: ProbedPath[],
  lockDir: string | undefined,
  recordPath: string,
  where = root,
  expected?: string,
): StepGroup<ProbeOutput> {
  const step: TypedStep<ProbeOutput> = {
    ...rootFilesScript(root, PROBING, { op: "probe", files: probeRows(paths, lockDir, recordPath, expected) }),
    parse: probeParser(paths, recordPath, lockDir, where, expected !== undefined),
  };
  return combine([step], ([output]) => ({ ok: true, value: output }));
}

/**
 * What the probe under apply's lock is to check for the steps sent after it (a reviewed plan's work): `expected`, the
 * digest of the read the plan was reviewed from; `needed`, the accounts those steps take as there (their preflight's).
 * Either failing (`drifted`), the steps do not run.
 */
export interface ProbeExpectations {
  expected?: string;
  needed?: AccountNames;
}

/**
 * The probe under apply's lock, which takes that lock itself (lock.ts, LockCarrier) in the same process, and says
 * whether the users and groups of `accounts` exist (preflight's check, without a getent process per table).
 */
export function lockingProbe(
  root: string,
  paths: ProbedPath[],
  recordPath: string,
  where: string,
  accounts: AccountNames,
  expectations: ProbeExpectations = {},
): LockCarrier<ProbeOutput> {
  const { expected, needed } = expectations;
  const account = (kind: "user" | "group", name: string): ProbePath => ({
    kind,
    name,
    ...((kind === "user" ? needed?.users : needed?.groups)?.includes(name) ? { needed: true } : {}),
  });
  const asked: ProbePath[] = [
    ...probeRows(paths, undefined, recordPath, expected),
    ...[...new Set([...accounts.users, ...(needed?.users ?? [])])].map((name) => account("user", name)),
    ...[...new Set([...accounts.groups, ...(needed?.groups ?? [])])].map((name) => account("group", name)),
  ];
  const stops = expected !== undefined || (needed !== undefined && needed.users.length + needed.groups.length > 0);
  return {
    script: (lock) => rootFilesScript(root, LOCKING_PROBE, { op: "locked-probe", files: [lock, ...asked] }),
    parse: probeParser(paths, recordPath, undefined, where, stops),
  };
}

const LOCKING_PROBE = "taking the lock and reading the files and gen's record";

function probeRows(paths: ProbedPath[], lockDir: string | undefined, recordPath: string, expected: string | undefined): ProbePath[] {
  return [
    ...paths.map((p): ProbePath => ({ kind: "entry", path: p.path, ...(p.sha256 ? { sha256: p.sha256, limit: SHOWN_SIZE_LIMIT } : {}) })),
    { kind: "read", path: recordPath, limit: RECORD_LIMIT + 1 },
    // Before the lock's rows: the digest does not change when the lock is taken.
    { kind: "digest", ...(expected ? { sha256: expected } : {}) },
    ...(lockDir === undefined
      ? []
      : [
          { kind: "folder" as const, path: lockDir },
          { kind: "read" as const, path: `${lockDir}/holder.json`, limit: HOLDER_LIMIT },
        ]),
  ];
}

function probeParser(
  paths: ProbedPath[],
  recordPath: string,
  lockDir: string | undefined,
  where: string,
  stops: boolean,
): (run: StepOutput) => Parsed<ProbeOutput> {
  return (run) => {
    const drifted = stops && run.exitCode === DRIFTED;
    if (run.exitCode !== 0 && !drifted) return { ok: false, error: new ProbeFailedError(where, run) };
    const parsed = parseRecords(`${PROBING} on ${where}`, run.stdout, ProbeRecord);
    return parsed.ok ? { ok: true, value: { ...probeOutput(paths, parsed.value, recordPath, lockDir), drifted } } : parsed;
  };
}

function probeOutput(paths: ProbedPath[], records: ProbeRecord[], recordPath: string, lockDir: string | undefined): Omit<ProbeOutput, "drifted"> {
  const entries = new Map<string, ProbeRecord>();
  const reads = new Map<string, ProbeRecord>();
  const accounts: Accounts = { users: new Map(), groups: new Map() };
  let digest: string | undefined;
  for (const record of records) {
    if (record.kind === "digest") digest = record.sha256;
    else if (record.kind === "user" || record.kind === "group") (record.kind === "user" ? accounts.users : accounts.groups).set(record.path, record.found);
    else (record.kind === "read" || record.kind === "folder" ? reads : entries).set(record.path, record);
  }
  const readText = (path: string, limit: number) => {
    const read = reads.get(path);
    return read?.kind === "read" && read.status === 0 && (read.size ?? 0) <= limit ? (read.content ?? "").trim() : "";
  };
  const lock = lockDir === undefined ? undefined : reads.get(lockDir);
  const locked = lock?.kind === "folder" && lock.found;
  return {
    results: paths.map((p) => probeResult(entries.get(p.path))),
    locked,
    lockHolder: locked ? readText(`${lockDir}/holder.json`, HOLDER_LIMIT) : "",
    record: readText(recordPath, RECORD_LIMIT),
    ...(digest === undefined ? {} : { digest }),
    accounts,
  };
}

function probeResult(record: ProbeRecord | undefined): ProbeResult {
  if (record === undefined) return { status: "unreadable", reason: "the probe did not report it" };
  switch (record.kind) {
    case "missing":
      return { status: "missing" };
    case "unreadable":
      if (typeof record.reason === "string") return { status: "unreadable", reason: record.reason };
      return {
        status: "unreadable",
        reason: `${readRefusal(record.reason, "") ?? ""}${record.link === undefined ? "" : ` (${record.link} is a symbolic link)`}`,
      };
    case "file":
      return {
        status: "ok",
        type: "file",
        mode: record.mode,
        owner: record.owner,
        group: record.group,
        size: record.size,
        sha256: record.sha256,
        ...(record.content === undefined ? {} : { content: record.content }),
      };
    case "symlink":
      return { status: "ok", type: "symlink", mode: record.mode, owner: record.owner, group: record.group, linkTarget: record.target };
    case "directory":
    case "other":
      return { status: "ok", type: record.kind, mode: record.mode, owner: record.owner, group: record.group };
    default:
      return { status: "unreadable", reason: "the probe did not report it" };
  }
}

/** The probe's session failed (sudo refused it, the shell did not start, no python3); `answer`: the last line it wrote. */
export class ProbeFailedError extends GenError {
  readonly answer: string;
  constructor(where: string, run: StepOutput) {
    const missing = run.exitCode === 127 && /python3/.test(run.stderr);
    super(
      missing
        ? `cannot inspect ${where}: ${ROOT_FILES_TOOL} is not installed there: gen reads and writes the server's files with it (apt-get install ${ROOT_FILES_TOOL})`
        : `cannot inspect ${where}: the probe failed (exit ${run.exitCode}): ${run.stderr.trim()}`,
    );
    this.name = "ProbeFailedError";
    this.answer = run.stderr.trim().split("\n").at(-1) || `exit ${run.exitCode}`;
  }
}
