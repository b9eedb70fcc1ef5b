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

type Operation = { op: "stage"; files: StageFile[] } | { op: "install"; files: InstallFile[] } | { op: "restore"; files: RestoreFile[] };

/** One step running the program on every file of `job`; paths are server paths (the transport's root is passed). */
export function rootFilesStep(shell: ServerShell, name: string, job: Operation): StepScript {
  // Normalised, so no ".." can climb out of the transport's root.
  const path = (serverPath: string) => posix.normalize(serverPath);
  const contents: Buffer[] = [];
  const rows: string[][] =
    job.op === "install"
      ? job.files.map((f) => [path(f.path), f.staged, path(f.backup)])
      : job.op === "restore"
        ? job.files.map((f) => [path(f.path), f.backup === undefined ? "" : path(f.backup)])
        : job.files.map((f) => {
            const bytes = Buffer.from(f.content ?? "");
            if (f.link === undefined) contents.push(bytes);
            return [path(f.path), f.staged, f.mode, f.owner, f.group, f.link ?? "", String(f.link === undefined ? bytes.length : 0), f.check ?? ""];
          });
  // Each file's fields; the program cuts the list by this width.
  const width = rows[0]?.length ?? 1;
  const header = Buffer.from([shell.transport.root, String(width), ...rows.flat()].join("\0"));
  return {
    name,
    script: `exec ${ROOT_FILES_TOOL} -I -S -c ${shell.quote(programText(import.meta.url, "./root_files.py"))} ${job.op}`,
    stdin: Buffer.concat([Buffer.from(`${header.length}\n`), header, ...contents]),
  };
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
