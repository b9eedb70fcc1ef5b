// A few steps of the host's session read everything a plan needs in a single round trip: type, mode, owner and
// sha256 of every managed file, the prepared folders, gen's lock and record. One GNU find does the metadata of all
// files and one sha256sum the hashes of those only root can change; a file in a folder someone else can write is
// hashed from a dd that opens it without following a link or blocking (sha256sum opened a FIFO put in place of the
// deploy user's settings file, and waited forever). No content is sent: time and memory do not grow with the size
// of unchanged files. Only differing files are fetched afterwards.
import { posix } from "node:path";
import { GenError } from "../errors.js";
import { HOLDER_LIMIT } from "../server/lock-holder.js";
import { hashFilesScript, readRoot, safeReadFunctions } from "../server/safe-read.js";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";
import { combine, optional, type StepGroup, type StepOutput, type TypedStep } from "../transport/typed-steps.js";

export type ProbeResult =
  | { status: "ok"; type: string; mode: string; owner: string; group: string; sha256?: string; linkTarget?: string; size?: number }
  | { status: "missing" }
  | { status: "unreadable"; reason: string };

/** gen's record is read up to this size (what gen writes is far smaller); a larger one is not gen's. */
export const RECORD_LIMIT = 1024 * 1024;

export interface ProbeOutput {
  results: ProbeResult[];
  locked: boolean;
  lockHolder: string;
  record: string;
}

/**
 * The probe's steps for one round trip: metadata (find), hashes (sha256sum), the record and, last, the lock (left out
 * when `lockDir` is undefined: apply reads the server again under its own lock), read into one ProbeOutput. Server
 * paths are mapped under `root`. Paths come from the schema: absolute, no | or newline. Nothing is read through a link
 * or from anything but a regular file, and the record and the holder are read only up to their limits (safe-read.ts):
 * the lock's folder is the deploy user's, and a managed file may sit in a folder someone else can write before the
 * first apply. A record step that did not succeed means the session itself failed (sudo refused): an error naming
 * `where`.
 */
export function probeSteps(root: string, paths: string[], lockDir: string | undefined, recordPath: string, where = root): StepGroup<ProbeOutput> {
  const local = paths.map((p) => pathUnderRoot(root, p));
  const quoted = local.map(quoteArg).join(" ");
  const read = (serverPath: string, limit: number) =>
    `gen_read ${quoteArg(readRoot(root))} ${quoteArg(posix.dirname(serverPath))} ${quoteArg(posix.basename(serverPath))} ${limit} 2>/dev/null`;
  const metadata: TypedStep<Map<string, ProbeResult>> = {
    name: "reading the files' metadata",
    script: paths.length ? `LC_ALL=C find ${quoted} -maxdepth 0 -printf '%p|%y|%m|%u|%g|%s|%l\\n'; exit 0` : ":",
    parse: (run) => ({ ok: true, value: parseMetadata(run) }),
  };
  const hashes: TypedStep<Hashes> = {
    name: "hashing the files",
    script: paths.length ? hashFilesScript(root, paths) : ":",
    parse: (run) => ({ ok: true, value: parseHashes(run) }),
  };
  // Always status 0: anything else means the session itself failed.
  const record: TypedStep<string> = {
    name: "reading gen's record",
    script: `${safeReadFunctions()}\n${read(recordPath, RECORD_LIMIT + 1)}\nexit 0`,
    parse: (run) =>
      run.exitCode === 0 ? { ok: true, value: run.size <= RECORD_LIMIT ? run.stdout.trim() : "" } : { ok: false, error: new ProbeFailedError(where, run) },
  };
  // Status 0: locked, and stdout is the holder.
  const lock: TypedStep<string | undefined> | undefined =
    lockDir === undefined
      ? undefined
      : {
          name: "reading gen's lock",
          script: `[ -d ${quoteArg(pathUnderRoot(root, lockDir))} ] || exit 1\n${safeReadFunctions()}\n${read(`${lockDir}/holder.json`, HOLDER_LIMIT)}\nexit 0`,
          parse: (run) => ({ ok: true, value: run.exitCode === 0 ? run.stdout.trim() : undefined }),
        };
  return combine([metadata, hashes, record, optional(lock)], ([found, hashed, recorded, holder]) => ({
    ok: true,
    value: {
      results: local.map((path) => probeResult(path, found, hashed)),
      locked: holder !== undefined,
      lockHolder: holder ?? "",
      record: recorded,
    },
  }));
}

/** The probe's session failed (sudo refused it, or the shell did not start); `answer`: the last line it wrote. */
export class ProbeFailedError extends GenError {
  readonly answer: string;
  constructor(where: string, run: StepOutput) {
    super(`cannot inspect ${where}: the probe failed (exit ${run.exitCode}): ${run.stderr.trim()}`);
    this.name = "ProbeFailedError";
    this.answer = run.stderr.trim().split("\n").at(-1) || `exit ${run.exitCode}`;
  }
}

interface Hashes {
  hashes: Map<string, string>;
  errors: Map<string, string>;
}

/** find's line for each path it found, and its complaint for each it could not look at. */
function parseMetadata(meta: StepOutput): Map<string, ProbeResult> {
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
  return found;
}

function parseHashes(hashed: StepOutput): Hashes {
  const hashes = new Map<string, string>();
  const errors = new Map<string, string>();
  for (const line of hashed.stdout.split("\n")) {
    const hash = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (hash) hashes.set(hash[2]!, hash[1]!);
  }
  for (const line of hashed.stderr.split("\n")) {
    const error = /^sha256sum: (.*): (.*)$/.exec(line);
    if (error) errors.set(error[1]!, error[2]!);
  }
  return { hashes, errors };
}

function probeResult(path: string, found: Map<string, ProbeResult>, hashed: Hashes): ProbeResult {
  const m = found.get(path) ?? { status: "unreadable", reason: "the probe did not report it" };
  if (m.status !== "ok" || m.type !== "file") return m;
  const sha256 = hashed.hashes.get(path);
  return sha256 ? { ...m, sha256 } : { status: "unreadable", reason: hashed.errors.get(path) ?? "Permission denied" };
}
