// The data the tool checks exchange: what the target server has (context), how to run (options), what came out (report).

export interface ToolCheckContext {
  /** Users/groups that exist on the target server (e.g. deployer, www-data); stub them where a tool needs them. */
  users: string[];
  groups: string[];
  /** Executables that only exist on the server (e.g. /home/deployer/.local/bin/poetry): stub them for systemd-analyze. */
  deployBinaries: string[];
  /** systemd units that exist on the server but are not rendered by gen (e.g. redis-server.service, nginx.service). */
  externalUnits: string[];
  /** Domains whose letsencrypt certificate the nginx site may reference: make stand-ins only for these. */
  certificateDomains: string[];
  /** For sudoers: the only user rules may be for, and the exact allowed command lines (as cvtsudoers prints them, un-escaped). */
  sudoersUser: string;
  sudoersAllowedCommands: string[];
}

/** "python3 values": the settings file evaluated and compared with the environment's values. */
export type ToolName = "visudo" | "cvtsudoers" | "nginx" | "systemd-analyze" | "logrotate" | "python3" | "python3 values";

export interface ToolReport {
  tool: ToolName;
  /** Server paths checked. */
  files: string[];
  status: "passed" | "failed" | "not-run";
  /** For not-run: why (tool missing: say which Debian package provides it). For failed: the tool's relevant output lines. */
  messages: string[];
}

/** How the checks run on this machine; every field is optional. */
export interface ToolRunOptions {
  /** Environment for the tools; its PATH decides which binaries are found. Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Folder under which the throwaway work folders are made. Defaults to os.tmpdir(). */
  tmpRoot?: string;
  /** false: never use `unshare` (exercises the no-namespace fallbacks). Defaults to true. */
  namespaces?: boolean;
  /** Per tool invocation, in milliseconds. Defaults to 30 000. */
  timeoutMs?: number;
}
