// Reads what one host has now: every file gen manages (hash, mode, owner; content only where it differs),
// the prepared folders, gen's lock and its record of what it last applied. Effects: reads through the transport:
// the probe in one round trip, the content of the files that differ with it.
import type { Transport } from "../transport/transport.js";
import { attempt, each, optional, runStep, stepSender, type StepGroup, type StepPart } from "../transport/typed-steps.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { fileSha256, sha256 } from "../render/render-environment.js";
import { appliedRecordPath } from "../server/applied-record.js";
import { describeLockHolder, lockDir } from "../server/lock-holder.js";
import type { FileSide } from "./plan-types.js";
import {
  lockingProbe,
  ProbeFailedError,
  probeSteps,
  type Accounts,
  type ProbedPath,
  type ProbeExpectations,
  type ProbeOutput,
  type ProbeResult,
} from "./server-probe.js";
import type { LockCarrier } from "../server/lock.js";

export { SHOWN_SIZE_LIMIT } from "./server-probe.js";

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
  /** The server's digest of what a plan is made from (server-probe.ts): apply checks it again under its lock. */
  digest?: string;
  /** Whether the users and groups of the files and folders exist: read under apply's lock only (lockingProbeRequest). */
  accounts?: Accounts;
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
 * does not read the lock it holds (`underOwnLock`). `contents`: the content of each file that differs comes back with
 * the probe (what a plan shows); false for a read that compares hashes only (a reviewed plan's re-read under the lock).
 * `expected`: the digest of the read the plan was reviewed from; the probe's step fails when the server's differs.
 */
export function probeRequest(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  stateDir: string,
  underOwnLock = false,
  contents = true,
  expected?: string,
): StepGroup<ProbeOutput> {
  return probeSteps(
    transport.root,
    probedPaths(files, folders, contents),
    underOwnLock ? undefined : lockDir(stateDir),
    appliedRecordPath(stateDir),
    transport.describe,
    expected,
  );
}

/**
 * The probe under apply's lock, which takes it (a LockCarrier: lock.ts), for the same files and folders, and also says
 * whether their users and groups exist (preflight's check). `expectations`: what it checks for steps sent after it.
 */
export function lockingProbeRequest(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  stateDir: string,
  contents = true,
  expectations: ProbeExpectations = {},
): LockCarrier<ProbeOutput> {
  const owned = [...files, ...folders];
  const accounts = { users: [...new Set(owned.map((f) => f.owner))], groups: [...new Set(owned.map((f) => f.group))] };
  return lockingProbe(transport.root, probedPaths(files, folders, contents), appliedRecordPath(stateDir), transport.describe, accounts, expectations);
}

function probedPaths(files: RenderedFile[], folders: FolderSpec[], contents: boolean): ProbedPath[] {
  return [...files.map((f) => ({ path: f.path, ...(contents ? { sha256: fileSha256(f) } : {}) })), ...folders.map((f) => ({ path: f.path }))];
}

/** The state from the probe's answer, which holds the content of the files that differ. */
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
  const fileStates = files.map((file, i) => [file.path, serverFile(file, results[i]!, options.contents !== false)] as const);
  const folderStates = folders.map((folder, i) => [folder.path, folderState(results[files.length + i]!)] as const);
  const applied = parseRecord(probe.record);
  return {
    transport: transport.describe,
    files: new Map(fileStates),
    folders: new Map(folderStates),
    ...(applied ? { applied } : {}),
    ...(probe.locked ? { lock: describeLockHolder(probe.lockHolder) } : {}),
    ...(probe.digest ? { digest: probe.digest } : {}),
    ...(probe.accounts.users.size + probe.accounts.groups.size > 0 ? { accounts: probe.accounts } : {}),
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

/**
 * Hash and metadata from the probe; the content only for a regular file that differs from `file` (the probe sent it),
 * or that it is too large to be shown.
 */
function serverFile(file: RenderedFile, probe: ProbeResult, withContent: boolean): ServerFile {
  if (probe.status !== "ok") return probe;
  const side: FileSide = {
    sha256: probe.sha256 ?? EMPTY_SHA256,
    mode: probe.mode,
    owner: probe.owner,
    group: probe.group,
    ...(probe.type === "symlink" ? { linkTarget: probe.linkTarget ?? "" } : {}),
  };
  const differs = withContent && probe.type === "file" && side.sha256 !== fileSha256(file);
  if (!differs) return { status: "ok", side };
  if (probe.content === undefined) return { status: "ok", side, tooLarge: probe.size === undefined ? {} : { size: probe.size } };
  return { status: "ok", side, content: probe.content };
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
