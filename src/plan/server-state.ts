// Reads what one host has now: every file gen manages (hash, mode, owner; content only where it differs),
// the prepared folders, and gen's record of what it last applied. Effects: reads through the transport only.
import { createHash } from "node:crypto";
import type { Transport } from "../transport/transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { sha256 } from "../render/render-environment.js";
import type { FileSide } from "./plan-types.js";

export type ServerFile =
  | { status: "ok"; side: FileSide; /** kept only when it differs from the rendered file */ content?: string }
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

export function appliedRecordPath(stateDir: string): string {
  return `${stateDir}/applied.json`;
}

export async function readServerState(transport: Transport, files: RenderedFile[], folders: FolderSpec[], stateDir: string): Promise<HostState> {
  const [fileStates, folderStates, applied, lock] = await Promise.all([
    Promise.all(files.map(async (file) => [file.path, await readServerFile(transport, file)] as const)),
    Promise.all(folders.map(async (folder) => [folder.path, await readFolder(transport, folder.path)] as const)),
    readAppliedRecord(transport, stateDir),
    readLockHolder(transport, stateDir),
  ]);
  return {
    transport: transport.describe,
    files: new Map(fileStates),
    folders: new Map(folderStates),
    ...(applied ? { applied } : {}),
    ...(lock ? { lock } : {}),
  };
}

async function readServerFile(transport: Transport, file: RenderedFile): Promise<ServerFile> {
  const result = await transport.readFile(file.path);
  if (result.status !== "ok") return result;
  const { content, stat } = result.file;
  const side: FileSide = {
    sha256: createHash("sha256").update(content).digest("hex"),
    mode: stat.mode,
    owner: stat.owner,
    group: stat.group,
    ...(stat.type === "symlink" ? { linkTarget: stat.linkTarget ?? "" } : {}),
  };
  const differs = side.sha256 !== sha256(file.content);
  return differs && stat.type === "file" ? { status: "ok", side, content: content.toString("utf8") } : { status: "ok", side };
}

async function readFolder(transport: Transport, path: string): Promise<FolderState | undefined> {
  const stat = await transport.stat(path);
  return stat && { owner: stat.owner, group: stat.group, mode: stat.mode, type: stat.type };
}

async function readLockHolder(transport: Transport, stateDir: string): Promise<string | undefined> {
  if ((await transport.stat(`${stateDir}/lock`)) === undefined) return undefined;
  const holder = await transport.readFile(`${stateDir}/lock/holder.json`);
  if (holder.status !== "ok") return "an unknown holder";
  try {
    const h = JSON.parse(holder.file.content.toString("utf8")) as { who?: string; command?: string; since?: string; pid?: number };
    return `${h.who} (gen ${h.command}, pid ${h.pid}) since ${h.since}`;
  } catch {
    return "an unknown holder";
  }
}

async function readAppliedRecord(transport: Transport, stateDir: string): Promise<Record<string, string> | undefined> {
  const result = await transport.readFile(appliedRecordPath(stateDir));
  if (result.status !== "ok") return undefined;
  try {
    const record = JSON.parse(result.file.content.toString("utf8")) as { files?: Record<string, string> };
    return record.files ?? {};
  } catch {
    return undefined;
  }
}
