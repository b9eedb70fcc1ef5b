// The plan: plain data that diff prints, `--out` saves and apply executes.

export type FileAction = "create" | "change" | "unchanged" | "unreadable";
export type FileChange = "content" | "mode" | "owner" | "group" | "link";

/** What a file is on one side: hashes and metadata, never content. */
export interface FileSide {
  sha256: string;
  mode: string;
  owner: string;
  group: string;
  linkTarget?: string;
}

export interface PlanEntry {
  path: string;
  kind: string;
  action: FileAction;
  changes: FileChange[];
  secret: boolean;
  desired: FileSide;
  /** The server's file the plan was computed against (absent when missing or unreadable). */
  current?: FileSide;
  /** The server file no longer matches what gen last applied there: someone edited it by hand. */
  editedOnServer: boolean;
  reason?: string;
  handlers: { reload: string[]; restart: string[] };
}

export type FolderAction = "create" | "fix" | "unchanged";

export interface FolderPlan {
  path: string;
  action: FolderAction;
  owner: string;
  group: string;
  mode: string;
  current?: { owner: string; group: string; mode: string; type: string };
}

export interface HostPlan {
  host: string;
  transport: string;
  roles: string[];
  entries: PlanEntry[];
  folders: FolderPlan[];
  /** When the host could not be inspected: why. Its entries are then empty. */
  error?: string;
  /** Who holds gen's lock on the host (a run in progress, or one that was interrupted). */
  lock?: string;
}

export interface Plan {
  environment: string;
  hosts: HostPlan[];
}

export interface PlanSummary {
  create: number;
  change: number;
  unchanged: number;
  unreadable: number;
  editedOnServer: number;
  failedHosts: number;
}
