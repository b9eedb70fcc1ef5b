// A few steps of the host's session read everything a plan needs in a single round trip: type, mode, owner and
// sha256 of every managed file, the prepared folders, gen's lock and record. One GNU find does the metadata of all
// files and one sha256sum the hashes of those only root can change; a file in a folder someone else can write is
// hashed from a dd that opens it without following a link or blocking (sha256sum opened a FIFO put in place of the
// deploy user's settings file, and waited forever). No content is sent: time and memory do not grow with the size
// of unchanged files. Only differing files are fetched afterwards.
import { posix } from "node:path";
import { HOLDER_LIMIT } from "../server/lock-holder.js";
import { hashFilesScript, readRoot, safeReadFunctions } from "../server/safe-read.js";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";
import type { Step } from "../transport/transport.js";

export type ProbeResult =
  | { status: "ok"; type: string; mode: string; owner: string; group: string; sha256?: string; linkTarget?: string; size?: number }
  | { status: "missing" }
  | { status: "unreadable"; reason: string };

/** gen's record is read up to this size (what gen writes is far smaller); a larger one is not gen's. */
export const RECORD_LIMIT = 1024 * 1024;

/**
 * Steps for one round trip: metadata (find), hashes (sha256sum), the record and, last, the lock (left out when
 * `lockDir` is undefined: apply reads the server again under its own lock). Server paths are mapped under `root`.
 * Paths come from the schema: absolute, no | or newline. Nothing is read through a link or from anything but a
 * regular file, and the record and the holder are read only up to their limits (safe-read.ts): the lock's folder is
 * the deploy user's, and a managed file may sit in a folder someone else can write before the first apply.
 */
export function probeSteps(root: string, paths: string[], lockDir: string | undefined, recordPath: string): Step[] {
  const local = paths.map((p) => quoteArg(pathUnderRoot(root, p))).join(" ");
  const read = (serverPath: string, limit: number) =>
    `gen_read ${quoteArg(readRoot(root))} ${quoteArg(posix.dirname(serverPath))} ${quoteArg(posix.basename(serverPath))} ${limit} 2>/dev/null`;
  const steps: Step[] = [
    { name: "reading the files' metadata", script: paths.length ? `LC_ALL=C find ${local} -maxdepth 0 -printf '%p|%y|%m|%u|%g|%s|%l\\n'; exit 0` : ":" },
    { name: "hashing the files", script: paths.length ? hashFilesScript(root, paths) : ":" },
    // Always status 0: anything else means the session itself failed.
    { name: "reading gen's record", script: `${safeReadFunctions()}\n${read(recordPath, RECORD_LIMIT + 1)}\nexit 0` },
  ];
  if (lockDir === undefined) return steps;
  const lock = quoteArg(pathUnderRoot(root, lockDir));
  // Status 0: locked, and stdout is the holder.
  return [
    ...steps,
    { name: "reading gen's lock", script: `[ -d ${lock} ] || exit 1\n${safeReadFunctions()}\n${read(`${lockDir}/holder.json`, HOLDER_LIMIT)}\nexit 0` },
  ];
}

/** Where the record's answer is among the probe's (the session failed unless its status is 0). */
export const PROBE_RECORD_STEP = 2;

/** A step's answer as the parser needs it. */
export interface ProbeRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ProbeOutput {
  results: ProbeResult[];
  locked: boolean;
  lockHolder: string;
  record: string;
}

/** `runs`: the answers to probeSteps (without a lock answer, not locked). */
export function parseProbe(runs: ProbeRun[], root: string, paths: string[]): ProbeOutput {
  const [meta = EMPTY, hashed = EMPTY, record = EMPTY, lock = EMPTY] = runs;
  const local = paths.map((p) => pathUnderRoot(root, p));
  const found = new Map<string, ProbeResult>();
  for (const line of meta.stderr.split("\n")) {
    const failure = /^find: '(.*)': (.*)$/.exec(line);
    if (failure)
      found.set(failure[1]!, /No such file|Not a directory/.test(failure[2]!) ? { status: "missing" } : { status: "unreadable", reason: failure[2]! });
  }
  for (const line of meta.stdout.split("\n")) {
    const [path = "", type = "", mode = "", owner = "", group = "", size = "", ...link] = line.split("|");
    if (!type) continue;
    const kind = type === "f" ? "file" : type === "d" ? "directory" : type === "l" ? "symlink" : "other";
    const bytes = kind === "file" && /^\d+$/.test(size) ? { size: Number(size) } : {};
    found.set(path, {
      status: "ok",
      type: kind,
      mode: mode.padStart(4, "0"),
      owner,
      group,
      ...bytes,
      ...(kind === "symlink" ? { linkTarget: link.join("|") } : {}),
    });
  }
  const hashes = new Map<string, string>();
  const hashErrors = new Map<string, string>();
  for (const line of hashed.stdout.split("\n")) {
    const hash = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (hash) hashes.set(hash[2]!, hash[1]!);
  }
  for (const line of hashed.stderr.split("\n")) {
    const error = /^sha256sum: (.*): (.*)$/.exec(line);
    if (error) hashErrors.set(error[1]!, error[2]!);
  }
  const results = local.map((path): ProbeResult => {
    const m = found.get(path) ?? { status: "unreadable", reason: "the probe did not report it" };
    if (m.status !== "ok" || m.type !== "file") return m;
    const sha256 = hashes.get(path);
    return sha256 ? { ...m, sha256 } : { status: "unreadable", reason: hashErrors.get(path) ?? "Permission denied" };
  });
  return {
    results,
    locked: lock.exitCode === 0,
    lockHolder: lock.exitCode === 0 ? lock.stdout.trim() : "",
    record: Buffer.byteLength(record.stdout) <= RECORD_LIMIT ? record.stdout.trim() : "",
  };
}

const EMPTY: ProbeRun = { exitCode: 1, stdout: "", stderr: "" };
