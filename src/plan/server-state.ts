// Reads what one host has now: every file gen manages (hash, mode, owner; content only where it differs),
// the prepared folders, gen's lock and its record of what it last applied. Effects: reads through the transport:
// the probe's steps in one round trip, then the content of the files that differ.
import type { Transport } from "../transport/transport.js";
import { attempt, each, optional, runStep, stepSender, type StepGroup, type StepOutput, type StepPart, type TypedStep } from "../transport/typed-steps.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { fileSha256, sha256 } from "../render/render-environment.js";
import { appliedRecordPath } from "../server/applied-record.js";
import { describeLockHolder, lockDir } from "../server/lock-holder.js";
import type { FileSide } from "./plan-types.js";
import { ProbeFailedError, probeSteps, type ProbeOutput, type ProbeResult } from "./server-probe.js";
import { quoteArg } from "../transport/shell-quote.js";
import { READ_MISSING, readRefusal, readRoot, safeReadFunctions } from "../server/safe-read.js";
import { posix } from "node:path";

export type ServerFile =
  | {
      status: "ok";
      side: FileSide;
      /** Kept only when it differs from the rendered file. */
      content?: string;
      /** It differs and is larger than SHOWN_SIZE_LIMIT: compared by its hash, not read (its size when the probe saw it). */
      tooLarge?: { size?: number };
    }
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
  /** Why `sudo -n` failed, when it was to be used and the files were read without it. */
  sudoRefused?: string;
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
  return (await readServerStateWith(transport, files, folders, stateDir, options, optional(undefined))).state;
}

/**
 * readServerState, with `alongside` (a part of the caller's: gen status reads the live release) sent in the probe's
 * round trip, through the same session and with the same privilege; its value comes back with the state.
 */
export async function readServerStateWith<T>(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  stateDir: string,
  options: ReadOptions,
  alongside: StepPart<T>,
): Promise<{ state: HostState; alongside: T }> {
  const probe = await runProbe(transport, each([probeRequest(transport, files, folders, stateDir), alongside]), options.sudo);
  const [output, value] = probe.output;
  const state = await stateFromProbe(transport, files, folders, output, {
    sudo: probe.sudo,
    ...(probe.sudoRefused ? { sudoRefused: probe.sudoRefused } : {}),
  });
  return { state, alongside: value };
}

/**
 * The probe's steps, also for a caller that sends them with others: apply, right after taking the lock, which
 * does not read the lock it holds (`underOwnLock`).
 */
export function probeRequest(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  stateDir: string,
  underOwnLock = false,
): StepGroup<ProbeOutput> {
  const paths = [...files.map((f) => f.path), ...folders.map((f) => f.path)];
  return probeSteps(transport.root, paths, underOwnLock ? undefined : lockDir(stateDir), appliedRecordPath(stateDir), transport.describe);
}

/** The state from the probe's answer; the content of the files that differ is read afterwards. */
export async function stateFromProbe(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  probe: ProbeOutput,
  options: ReadOptions,
): Promise<HostState> {
  const paths = [...files.map((f) => f.path), ...folders.map((f) => f.path)];
  const recorded = (await transport.recordedOwners?.()) ?? {};
  const results = probe.results.map((r, i): ProbeResult => {
    if (r.status === "unreadable") return { ...r, reason: unreadableReason(r.reason, transport, options) };
    const owner = recorded[paths[i]!]?.split(":");
    return r.status === "ok" && owner?.length === 2 ? { ...r, owner: owner[0]!, group: owner[1]! } : r;
  });
  const differing = files.flatMap((file, i) => {
    const probed = results[i]!;
    return differs(file, probed) ? [{ file, size: probed.status === "ok" ? probed.size : undefined }] : [];
  });
  const contents = options.contents === false ? new Map<string, ReadContent>() : await readContents(transport, differing, options);
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

/**
 * The probe's answer (with what is sent alongside it), and whether it came through sudo (false when sudo was refused,
 * with what it said).
 */
async function runProbe<T>(transport: Transport, probe: StepGroup<T>, sudo: boolean): Promise<{ output: T; sudo: boolean; sudoRefused?: string }> {
  let sudoRefused: string | undefined;
  if (sudo) {
    const output = await runStep(stepSender(transport, { sudo: true }), attempt(probe));
    if (output.ok) return { output: output.value, sudo: true };
    if (!(output.error instanceof ProbeFailedError)) throw output.error;
    // sudo itself refused (no rule for this user): read what the user can, report the rest as unreadable, with why.
    sudoRefused = output.error.answer;
  }
  const output = await runStep(stepSender(transport, { sudo: false }), probe);
  return { output, sudo: false, ...(sudoRefused ? { sudoRefused } : {}) };
}

/** A regular file whose hash differs from the rendered one: its content is read to show the difference. */
function differs(file: RenderedFile, probe: ProbeResult): boolean {
  return probe.status === "ok" && probe.type === "file" && (probe.sha256 ?? EMPTY_SHA256) !== fileSha256(file);
}

/**
 * A server file larger than this is compared by its hash alone: its content is neither read nor shown (reading one of
 * 1.5 GB to show its difference took gen diff to 4.7 GB of memory).
 */
export const SHOWN_SIZE_LIMIT = 10 * 1024 * 1024;

type ReadContent =
  | { status: "ok"; content: string }
  | { status: "missing" }
  | { status: "unreadable"; reason: string }
  | { status: "too-large"; size?: number };

/**
 * The content of the files that differ, through the probe's session (sudo as it had), one step each in one round trip:
 * each read as safe-read.ts reads (no link on the way, a regular file, without blocking), and at most
 * SHOWN_SIZE_LIMIT bytes of it; a file the probe saw larger than that is not read at all.
 */
async function readContents(
  transport: Transport,
  differing: { file: RenderedFile; size: number | undefined }[],
  options: ReadOptions,
): Promise<Map<string, ReadContent>> {
  const large = differing.filter((d) => d.size !== undefined && d.size > SHOWN_SIZE_LIMIT);
  const files = differing.filter((d) => !large.includes(d)).map((d) => d.file);
  const contents = new Map<string, ReadContent>(large.map((d) => [d.file.path, { status: "too-large", size: d.size! }]));
  if (files.length === 0) return contents;
  const root = quoteArg(readRoot(transport.root));
  const read = (file: RenderedFile): TypedStep<[string, ReadContent]> => ({
    name: `reading ${file.path}`,
    script: `${safeReadFunctions()}\ngen_read ${root} ${quoteArg(posix.dirname(file.path))} ${quoteArg(posix.basename(file.path))} ${SHOWN_SIZE_LIMIT + 1}`,
    parse: (run) => ({ ok: true, value: [file.path, readContent(run, transport, options)] }),
  });
  for (const [path, content] of await runStep(stepSender(transport, { sudo: options.sudo }), each(files.map(read)))) contents.set(path, content);
  return contents;
}

function readContent(run: StepOutput, transport: Transport, options: ReadOptions): ReadContent {
  if (run.exitCode === 0) return run.size > SHOWN_SIZE_LIMIT ? { status: "too-large" } : { status: "ok", content: run.stdout };
  if (run.exitCode === READ_MISSING) return { status: "missing" };
  const reason = readRefusal(run.exitCode, run.stderr)!;
  return { status: "unreadable", reason: unreadableReason(reason, transport, options) };
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
  if (read.status === "too-large") return { status: "ok", side, tooLarge: read.size === undefined ? {} : { size: read.size } };
  if (read.status !== "ok") return read;
  return { status: "ok", side, content: read.content };
}

function folderState(probe: ProbeResult): FolderState | undefined {
  if (probe.status === "missing") return undefined;
  if (probe.status === "unreadable") return { owner: "?", group: "?", mode: "?", type: "unreadable" };
  return { owner: probe.owner, group: probe.group, mode: probe.mode, type: probe.type };
}

const EMPTY_SHA256 = sha256("");

function unreadableReason(raw: string, transport: Transport, options: ReadOptions): string {
  if (!/permission denied/i.test(raw)) return raw;
  const why = options.sudo
    ? "even through `sudo -n`"
    : options.sudoRefused
      ? `\`sudo -n\` was refused: ${options.sudoRefused}`
      : "reading it needs sudo: server.useSudo is off";
  return `permission denied for ${transport.describe} (${why})`;
}

function parseRecord(text: string): Record<string, string> | undefined {
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { files?: Record<string, string> }).files ?? {};
  } catch {
    return undefined;
  }
}
