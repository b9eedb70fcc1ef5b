// Reads what one host has now: every file gen manages (hash, mode, owner; content only where it differs),
// the prepared folders, gen's lock and its record of what it last applied. Effects: reads through the transport:
// the probe's steps in one round trip, then the content of the files that differ.
import type { Step, StepResult, Transport } from "../transport/transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { fileSha256, sha256 } from "../render/render-environment.js";
import { GenError } from "../errors.js";
import { appliedRecordPath } from "../server/applied-record.js";
import { describeLockHolder, lockDir } from "../server/lock-holder.js";
import type { FileSide } from "./plan-types.js";
import { parseProbe, PROBE_RECORD_STEP, probeSteps, type ProbeResult, type ProbeRun } from "./server-probe.js";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";

export type ServerFile =
  | { status: "ok"; side: FileSide /** kept only when it differs from the rendered file */; content?: string }
  | { status: "missing" }
  | { status: "unreadable"; reason: string };

export interface FolderState {
  owner: string;
  group: string;
  mode: string;
  type: string;
}

export interface HostState {
  transport: string;
  files: Map<string, ServerFile>;
  folders: Map<string, FolderState | undefined>;
  /** path -> sha256 of what gen applied last, when the record exists. */
  applied?: Record<string, string>;
  /** The holder of gen's lock on this host, when it is held (or left by an interrupted run). */
  lock?: string;
}

export interface ReadOptions {
  /** Read root-only files through `sudo -n` (server.useSudo). */
  sudo: boolean;
  /** false: the hashes are enough (apply's second read, under the lock), the content of what differs is not read. */
  contents?: boolean;
}

export async function readServerState(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  stateDir: string,
  options: ReadOptions = { sudo: false },
): Promise<HostState> {
  const steps = probeRequest(transport, files, folders, stateDir);
  const probe = await runProbe(transport, steps, options.sudo);
  return stateFromProbe(transport, files, folders, probe.runs, { sudo: probe.sudo });
}

/**
 * The probe's steps, also for a caller that sends them with others: apply, right after taking the lock, which
 * does not read the lock it holds (`underOwnLock`).
 */
export function probeRequest(transport: Transport, files: RenderedFile[], folders: FolderSpec[], stateDir: string, underOwnLock = false): Step[] {
  const paths = [...files.map((f) => f.path), ...folders.map((f) => f.path)];
  return probeSteps(transport.root, paths, underOwnLock ? undefined : lockDir(stateDir), appliedRecordPath(stateDir));
}

/** The state from the probe's answers; the content of the files that differ is read afterwards. */
export async function stateFromProbe(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  runs: ProbeRun[],
  options: ReadOptions,
): Promise<HostState> {
  const paths = [...files.map((f) => f.path), ...folders.map((f) => f.path)];
  const probe = parseProbe(runs, transport.root, paths);
  // In the sandbox, owners are what gen recorded (it cannot set them there without root).
  const recorded = (await transport.sandbox?.owners()) ?? {};
  const results = probe.results.map((r, i): ProbeResult => {
    if (r.status === "unreadable") return { ...r, reason: unreadableReason(r.reason, transport, options.sudo) };
    const owner = recorded[paths[i]!]?.split(":");
    return r.status === "ok" && owner?.length === 2 ? { ...r, owner: owner[0]!, group: owner[1]! } : r;
  });
  const differing = files.flatMap((file, i) => {
    const probed = results[i]!;
    return differs(file, probed) ? [{ file, size: probed.status === "ok" ? probed.size : undefined }] : [];
  });
  const contents = options.contents === false ? new Map<string, ReadContent>() : await readContents(transport, differing, options.sudo);
  const fileStates = files.map((file, i) => [file.path, serverFile(results[i]!, contents.get(file.path))] as const);
  const folderStates = folders.map((folder, i) => [folder.path, folderState(results[files.length + i]!)] as const);
  const applied = parseRecord(probe.record);
  return {
    transport: transport.describe,
    files: new Map(fileStates),
    folders: new Map(folderStates),
    ...(applied ? { applied } : {}),
    ...(probe.locked ? { lock: describeLockHolder(probe.lockHolder) } : {}),
  };
}

/** The probe's answers, and whether they came through sudo (false when sudo was refused). */
async function runProbe(transport: Transport, steps: Step[], sudo: boolean): Promise<{ runs: ProbeRun[]; sudo: boolean }> {
  const text = (runs: StepResult[]) => runs.map((r) => ({ exitCode: r.exitCode, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") }));
  const record = PROBE_RECORD_STEP;
  if (sudo) {
    const runs = await transport.steps(steps, { sudo: true });
    if (runs[record]!.exitCode === 0) return { runs: text(runs), sudo: true };
    // sudo itself refused (no rule for this user): read what the user can, report the rest as unreadable.
  }
  const runs = await transport.steps(steps);
  if (runs[record]!.exitCode !== 0)
    throw new GenError(
      `cannot inspect ${transport.describe}: the probe failed (exit ${runs[record]!.exitCode}): ${runs[record]!.stderr.toString("utf8").trim()}`,
    );
  return { runs: text(runs), sudo: false };
}

/** A regular file whose hash differs from the rendered one: its content is read to show the difference. */
function differs(file: RenderedFile, probe: ProbeResult): boolean {
  return probe.status === "ok" && probe.type === "file" && (probe.sha256 ?? EMPTY_SHA256) !== fileSha256(file);
}

type ReadContent = { status: "ok"; content: string } | { status: "missing" } | { status: "unreadable"; reason: string };

/**
 * The content of the files that differ, through the probe's session (sudo as it had), with no SFTP channel, no second
 * session for root's files and no user table for owners already known: one `cat` of them all, cut by the sizes the
 * probe saw; when that does not add up (a file changed meanwhile, one could not be read), one `cat` step each.
 */
async function readContents(
  transport: Transport,
  differing: { file: RenderedFile; size: number | undefined }[],
  sudo: boolean,
): Promise<Map<string, ReadContent>> {
  if (differing.length === 0) return new Map();
  const files = differing.map((d) => d.file);
  const sizes = differing.map((d) => d.size);
  if (sizes.every((size) => size !== undefined)) {
    const local = files.map((file) => quoteArg(pathUnderRoot(transport.root, file.path))).join(" ");
    const [all] = await transport.steps([{ name: "reading the files that differ", script: `exec cat -- ${local}` }], { sudo });
    const total = sizes.reduce<number>((sum, size) => sum + size!, 0);
    if (all!.exitCode === 0 && all!.stdout.length === total) {
      let at = 0;
      return new Map(
        files.map((file, i): [string, ReadContent] => {
          const content = all!.stdout.subarray(at, at + sizes[i]!).toString("utf8");
          at += sizes[i]!;
          return [file.path, { status: "ok", content }];
        }),
      );
    }
  }
  return readEach(transport, files, sudo);
}

/** One `cat` step per file, all in one round trip: each file's own answer, missing or unreadable. */
async function readEach(transport: Transport, files: RenderedFile[], sudo: boolean): Promise<Map<string, ReadContent>> {
  const steps = files.map((file) => ({ name: `reading ${file.path}`, script: `cat -- ${quoteArg(pathUnderRoot(transport.root, file.path))}` }));
  const runs = await transport.steps(steps, { sudo });
  return new Map(
    files.map((file, i): [string, ReadContent] => {
      const run = runs[i]!;
      if (run.exitCode === 0) return [file.path, { status: "ok", content: run.stdout.toString("utf8") }];
      const reason = run.stderr
        .toString("utf8")
        .trim()
        .replace(/^cat: /, "");
      if (/No such file or directory/.test(reason)) return [file.path, { status: "missing" }];
      return [file.path, { status: "unreadable", reason: unreadableReason(reason || `cat exited with ${run.exitCode}`, transport, sudo) }];
    }),
  );
}

/** Hash and metadata from the probe; the content (read before) only for a regular file that differs. */
function serverFile(probe: ProbeResult, read: ReadContent | undefined): ServerFile {
  if (probe.status !== "ok") return probe;
  const side: FileSide = {
    sha256: probe.sha256 ?? EMPTY_SHA256,
    mode: probe.mode,
    owner: probe.owner,
    group: probe.group,
    ...(probe.type === "symlink" ? { linkTarget: probe.linkTarget ?? "" } : {}),
  };
  if (!read) return { status: "ok", side };
  if (read.status !== "ok") return read;
  return { status: "ok", side, content: read.content };
}

function folderState(probe: ProbeResult): FolderState | undefined {
  if (probe.status === "missing") return undefined;
  if (probe.status === "unreadable") return { owner: "?", group: "?", mode: "?", type: "unreadable" };
  return { owner: probe.owner, group: probe.group, mode: probe.mode, type: probe.type };
}

const EMPTY_SHA256 = sha256("");

function unreadableReason(raw: string, transport: Transport, sudo: boolean): string {
  if (!/permission denied/i.test(raw)) return raw;
  return `permission denied for ${transport.describe} (${sudo ? "and `sudo -n` was refused" : "reading it needs sudo: server.useSudo is off"})`;
}

function parseRecord(text: string): Record<string, string> | undefined {
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { files?: Record<string, string> }).files ?? {};
  } catch {
    return undefined;
  }
}
