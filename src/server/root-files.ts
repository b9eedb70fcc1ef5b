// The program that writes, installs and restores apply's files as root (and compiles staged settings: their check),
// root_files.py beside this module: one python3 process per batch of files instead of several shell processes per
// file. It reaches every folder by opening each component of its path inside the one before with O_NOFOLLOW, so a
// folder swapped for a link at any moment makes it refuse (a link record, exit 3) instead of leading root elsewhere,
// and it changes entries only through those folder descriptors.
// The install is all or nothing: stopped before its last file by a signal (SIGHUP, SIGTERM, SIGINT) or by the end of
// the session that runs it (gen stopped at once, the connection dropped: sshd then sends a command without a terminal
// no signal, its next write fails), it puts back what it moved, newest first, removes the staged files left, and
// exits 4. Input cut short (the session ended while it was sent) is refused before anything is done: exit 5. A restore, that one included,
// ignores those signals and a closed output, and goes to its end.
// Input on stdin: the header's length in bytes and a newline; the header, its fields separated by NUL (root,
// "1" when owners are set, fields per file, then each file's fields); then the files' bytes one after another, each
// as long as its size field. Neither side needs a JSON parser on the server: importing Python's json (and re) took
// half of the program's start-up.
import { posix } from "node:path";
import * as z from "zod/mini";
import { LinkRecord } from "./link-safe.js";
import { parseRecords, type Parsed } from "../transport/step-records.js";
import type { StepScript } from "../transport/typed-steps.js";
import { programText } from "../program-text.js";
import type { ServerShell } from "./server-shell.js";
import { quoteArg } from "../transport/shell-quote.js";

/** The server program that runs it (preflight makes sure it is installed). */
export const ROOT_FILES_TOOL = "python3";

/**
 * A file for the stage operation: written as `staged` beside `path`, from `content` or as a link to `link`. `check`
 * "python": the program also compiles it as python3 -W error would, and reports a `rejected` record if it fails.
 */
export interface StageFile {
  path: string;
  staged: string;
  mode: string;
  owner: string;
  group: string;
  link?: string;
  content?: string;
  check?: "python";
}

/** A folder the stage operation makes first (apply's incoming folder): root's, with `mode`, as `install -d` makes it. */
export interface StageFolder {
  folder: string;
  mode: string;
}

/** A staged file for the install operation: the previous version (if any) is copied to `backup` first. */
export interface InstallFile {
  path: string;
  staged: string;
  backup: string;
}

/** A file to put back: from `backup`, or removed when it was new. */
export interface RestoreFile {
  path: string;
  backup?: string;
}

/**
 * A path for the probe: an `entry` (a managed file or folder: its type, mode, owner, group, a regular file's size and
 * sha256, and its content when that differs from `sha256` and is at most `limit` bytes), a `read` (a small file such as
 * gen's record, at most `limit` bytes of it) or a `folder` (whether it is one, links followed: the lock).
 */
export type ProbePath =
  | { kind: "entry"; path: string; sha256?: string; limit?: number }
  | { kind: "read"; path: string; limit: number }
  | { kind: "folder"; path: string }
  | DigestRow
  | LockRow
  | AccountRow;

/**
 * The digest of what the rows before it found (what a plan depends on: no content sent for a diff); with `sha256`, the
 * probe fails (DRIFTED) when it differs, so that the steps chained after it do not run.
 */
export interface DigestRow {
  kind: "digest";
  sha256?: string;
}

/**
 * root_files.py's status when the digest differs from the one given, or (locked-probe) an account the steps chained
 * after it need is missing.
 */
export const DRIFTED = 7;

/**
 * Whether a user or group exists (locked-probe: preflight's check); `needed`: the steps chained after the probe take it
 * as there, so that on a server its absence fails the probe (DRIFTED).
 */
export interface AccountRow {
  kind: "user" | "group";
  name: string;
  needed?: boolean;
}

/**
 * The first row of the locked-probe operation (the probe under apply's lock, which takes it: src/server/lock.ts,
 * LockCarrier): gen's lock taken as lock.sh takes it as root (`holder`: holder.json's text; `group`: the deploy group,
 * which may write in STATE/locks), the other rows read only once it is taken. Its `user` and `group` rows: whether
 * that account exists (preflight's check).
 */
export interface LockRow {
  kind: "lock";
  stateDir: string;
  holder: string;
  group: string;
}

type Operation =
  | { op: "probe"; files: ProbePath[] }
  /** The probe under apply's lock: its first row the lock it takes (LockRow), then the probe's and accounts' rows. */
  | { op: "locked-probe"; files: [LockRow, ...ProbePath[]] }
  | { op: "stage"; files: (StageFile | StageFolder)[] }
  | { op: "install"; files: InstallFile[] }
  | { op: "restore"; files: RestoreFile[] };

/**
 * What python3 runs: it reads the program (PROGRAM bytes) and then the program its input (the rest) from the session's
 * own stream, exactly so many bytes, so that neither passes through a `head` process nor a long command line (the
 * session's shell reads a command line a byte at a time). A program cut short is not run.
 */
const START = [
  "import posix, sys",
  "size, parts = int(sys.argv[1]), []",
  "while size > 0:",
  "    part = posix.read(0, min(size, 1 << 20))",
  "    if not part:",
  "        sys.stderr.write('gen: the program came cut short\\n')",
  "        sys.exit(5)",
  "    parts.append(part)",
  "    size -= len(part)",
  "exec(compile(b''.join(parts), 'root_files.py', 'exec'))",
].join("\n");

/** One step running the program on every file of `job`; paths are server paths (the transport's root is passed). */
export function rootFilesStep(shell: ServerShell, name: string, job: Operation): StepScript {
  return rootFilesScript(shell.transport.root, name, job);
}

/** rootFilesStep for a caller with no ServerShell: `root` is the transport's. */
export function rootFilesScript(root: string, name: string, job: Operation): StepScript {
  // Normalised, so no ".." can climb out of the transport's root.
  const path = (serverPath: string) => posix.normalize(serverPath);
  const contents: Buffer[] = [];
  const rows: string[][] =
    job.op === "probe" || job.op === "locked-probe"
      ? job.files.map((f) => probeRow(f, path))
      : job.op === "install"
        ? job.files.map((f) => [path(f.path), f.staged, path(f.backup)])
        : job.op === "restore"
          ? job.files.map((f) => [path(f.path), f.backup === undefined ? "" : path(f.backup)])
          : job.files.map((f) => {
              // A folder's row: its path and mode, "folder" where a file's check goes.
              if ("folder" in f) return [path(f.folder), "", f.mode, "", "", "", "0", "folder"];
              const bytes = Buffer.from(f.content ?? "");
              if (f.link === undefined) contents.push(bytes);
              return [path(f.path), f.staged, f.mode, f.owner, f.group, f.link ?? "", String(f.link === undefined ? bytes.length : 0), f.check ?? ""];
            });
  // Each file's fields; the program cuts the list by this width.
  const width = rows[0]?.length ?? 1;
  const header = Buffer.from([root, String(width), ...rows.flat()].join("\0"));
  const program = programFor(job.op);
  const input = Buffer.concat([Buffer.from(`${header.length}\n`), header, ...contents]);
  return {
    name,
    script: `exec ${ROOT_FILES_TOOL} -I -S -c ${quoteArg(START)} ${program.length} ${input.length} ${job.op}`,
    stdin: Buffer.concat([program, input]),
    readsOwnInput: true,
  };
}

const programs = new Map<string, Buffer>();

/** The parts of root_files.py (after its common part) that each operation runs. */
const PARTS: Record<Operation["op"], string[]> = {
  probe: ["probe", "main"],
  "locked-probe": ["probe", "lock", "main"],
  stage: ["write", "main"],
  install: ["write", "main"],
  restore: ["write", "main"],
};

/**
 * root_files.py for one operation: its common part (before the first "# section:" line) and the sections it runs.
 * Python compiles the whole program it is given at each start: the parts another operation needs were a third of
 * each start's compile time.
 */
function programFor(op: Operation["op"]): Buffer {
  let program = programs.get(op);
  if (program === undefined) {
    const [common, ...named] = programText(import.meta.url, "./root_files.py").split(/^(?=# section: )/m);
    const section = (name: string) => {
      const text = named.find((t) => t.startsWith(`# section: ${name}\n`));
      if (text === undefined) throw new Error(`internal error: root_files.py has no "# section: ${name}" line`);
      return text;
    };
    program = Buffer.from([common, ...PARTS[op].map(section)].join(""));
    programs.set(op, program);
  }
  return program;
}

/**
 * A probe row's four fields: kind, path, then the sha256 and limit of an entry or a read, the digest expected, whether
 * an account is needed, or a lock's holder and group.
 */
function probeRow(f: ProbePath, path: (serverPath: string) => string): string[] {
  switch (f.kind) {
    case "digest":
      return [f.kind, "", f.sha256 ?? "", "0"];
    case "lock":
      return [f.kind, path(f.stateDir), f.holder, f.group];
    case "user":
    case "group":
      return [f.kind, f.name, f.needed ? "1" : "", "0"];
    case "folder":
      return [f.kind, path(f.path), "", "0"];
    default:
      return [f.kind, path(f.path), f.kind === "entry" ? (f.sha256 ?? "") : "", String(f.limit ?? 0)];
  }
}

/**
 * What the program prints: a file moved (with its previous version kept or not), restored, removed, a staged file
 * its check rejected (python3's words), or a link it refused.
 */
export const RootFilesRecord = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("moved"), path: z.string(), kept: z.boolean() }),
  z.object({ kind: z.literal("rejected"), path: z.string(), message: z.string() }),
  z.object({ kind: z.literal("restored"), path: z.string() }),
  z.object({ kind: z.literal("removed"), path: z.string() }),
  LinkRecord,
]);
export type RootFilesRecord = z.infer<typeof RootFilesRecord>;

export function parseRootFiles(step: string, stdout: string): Parsed<RootFilesRecord[]> {
  return parseRecords(step, stdout, RootFilesRecord);
}
