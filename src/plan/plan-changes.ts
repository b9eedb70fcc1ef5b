// Plan: the rendered files and what each host has now in; for every file create/change/unchanged/unreadable out.
// Pure: the server state is read beforehand (read-server-state.ts), so this runs and is tested without a server.
import type { FolderSpec, RenderedFile } from "../types.js";
import { fileSha256 } from "../render/render-environment.js";
import type { FileChange, FileSide, FolderPlan, HostPlan, Plan, PlanEntry, PlanSummary } from "./plan-types.js";
import type { HostState, ServerFile } from "./server-state.js";

export interface HostInput {
  host: string;
  roles: string[];
  state: HostState | { error: string; transport: string };
}

export function planChanges(environment: string, files: RenderedFile[], folders: FolderSpec[], hosts: HostInput[]): Plan {
  return { environment, hosts: hosts.map((h) => planHost(h, files, folders)) };
}

export function filesForRoles<T extends { roles: string[] }>(items: T[], roles: string[]): T[] {
  return items.filter((item) => item.roles.some((role) => roles.includes(role)));
}

function planHost(input: HostInput, files: RenderedFile[], folders: FolderSpec[]): HostPlan {
  const base = { host: input.host, roles: input.roles };
  if ("error" in input.state) return { ...base, transport: input.state.transport, entries: [], folders: [], error: input.state.error };
  const state = input.state;
  return {
    ...base,
    ...(state.lock ? { lock: state.lock } : {}),
    transport: state.transport,
    entries: filesForRoles(files, input.roles).map((file) => planFile(file, state.files.get(file.path) ?? { status: "missing" }, state.applied?.[file.path])),
    folders: filesForRoles(folders, input.roles).map((folder) => planFolder(folder, state.folders.get(folder.path))),
  };
}

export function desiredSide(file: RenderedFile): FileSide {
  return {
    sha256: fileSha256(file),
    mode: file.mode,
    owner: file.owner,
    group: file.group,
    ...(file.linkTarget === undefined ? {} : { linkTarget: file.linkTarget }),
  };
}

function planFile(file: RenderedFile, server: ServerFile, appliedSha: string | undefined): PlanEntry {
  const desired = desiredSide(file);
  const base = { path: file.path, kind: file.kind, secret: file.secret, desired, handlers: file.handlers };
  if (server.status === "missing") return { ...base, action: "create", changes: [], editedOnServer: appliedSha !== undefined };
  if (server.status === "unreadable") return { ...base, action: "unreadable", changes: [], editedOnServer: false, reason: server.reason };
  const current = server.side;
  const changes = compareSides(desired, current, file.kind === "symlink");
  return {
    ...base,
    action: changes.length ? "change" : "unchanged",
    changes,
    current,
    editedOnServer: appliedSha !== undefined && appliedSha !== current.sha256,
  };
}

function compareSides(desired: FileSide, current: FileSide, symlink: boolean): FileChange[] {
  if (symlink) return desired.linkTarget === current.linkTarget ? [] : ["link"];
  const changes: FileChange[] = [];
  if (current.linkTarget !== undefined || desired.sha256 !== current.sha256) changes.push("content");
  if (desired.mode !== current.mode) changes.push("mode");
  if (desired.owner !== current.owner) changes.push("owner");
  if (desired.group !== current.group) changes.push("group");
  return changes;
}

function planFolder(folder: FolderSpec, current: { owner: string; group: string; mode: string; type: string } | undefined): FolderPlan {
  const base = { path: folder.path, owner: folder.owner, group: folder.group, mode: folder.mode };
  if (current === undefined) return { ...base, action: "create" };
  const same = current.type === "directory" && current.owner === folder.owner && current.group === folder.group && current.mode === folder.mode;
  return { ...base, action: same ? "unchanged" : "fix", current };
}

export function summarizePlan(plan: Plan): PlanSummary {
  const entries = plan.hosts.flatMap((h) => h.entries);
  const count = (action: string) => entries.filter((e) => e.action === action).length;
  return {
    create: count("create"),
    change: count("change"),
    unchanged: count("unchanged"),
    unreadable: count("unreadable"),
    editedOnServer: entries.filter((e) => e.editedOnServer).length,
    failedHosts: plan.hosts.filter((h) => h.error !== undefined).length,
  };
}

/** Files already as the environment wants them, but not as gen last recorded: an apply that was interrupted
 * after moving them (or a hand edit that happens to match). Apply finishes them: handlers, then the record. */
export function unrecordedEntries(host: HostPlan): PlanEntry[] {
  return host.entries.filter((e) => e.action === "unchanged" && e.editedOnServer);
}

/** Something for apply to do: files or folders to change, files to finish, or a lock left behind. */
export function planNeedsApply(plan: Plan): boolean {
  return planHasChanges(plan) || plan.hosts.some((h) => h.lock !== undefined || unrecordedEntries(h).length > 0);
}

/** Files gen could not read: never "in sync", since nobody knows what they hold. One line per host and file. */
export function unreadableEntries(plan: Plan): string[] {
  return plan.hosts.flatMap((h) => h.entries.filter((e) => e.action === "unreadable").map((e) => `${h.host}: ${e.path}${e.reason ? ` (${e.reason})` : ""}`));
}

export function planHasChanges(plan: Plan): boolean {
  return plan.hosts.some((h) => h.entries.some((e) => e.action === "create" || e.action === "change") || h.folders.some((f) => f.action !== "unchanged"));
}

/** What gen diff calls a difference on a host: a file or folder to create or change, or a file gen could not read. */
export function hostDiffers(host: HostPlan): boolean {
  return (
    host.entries.some((e) => e.action === "create" || e.action === "change" || e.action === "unreadable") || host.folders.some((f) => f.action !== "unchanged")
  );
}
