// Plain data shared by the pipeline stages: load -> validate -> render -> plan -> apply -> release.

/** What a restart/reload of a service is triggered by. */
export interface ServiceHandlers {
  /** systemd units to `systemctl reload` when the file changes. */
  reload: string[];
  /** systemd units to `systemctl restart` when the file changes. */
  restart: string[];
}

/** Which validator checks a file, on this machine and on the server before it goes in place. */
export type FileKind = "sudoers" | "systemd-unit" | "nginx-site" | "logrotate" | "python-settings" | "symlink" | "other";

export interface RenderedFile {
  /** Absolute path on the server, e.g. /etc/sudoers.d/tsosi. */
  path: string;
  kind: FileKind;
  /** File content; for a symlink, empty. */
  content: string;
  /** For kind "symlink": the link target. */
  linkTarget?: string;
  /** Octal string, e.g. "0440". */
  mode: string;
  owner: string;
  group: string;
  /**
   * What may be shown: the content rendered with each secret replaced by its placeholder [secret:NAME], also
   * through template filters. Absent when no secret went into the file (then it equals content).
   */
  shown?: string;
  /** True when the content holds a secret value (written 0600 locally, redacted in output). */
  secret: boolean;
  /** Roles of the hosts that receive the file (web, worker). */
  roles: string[];
  handlers: ServiceHandlers;
}

export interface FolderSpec {
  path: string;
  owner: string;
  group: string;
  mode: string;
  roles: string[];
}

export interface ManifestFile extends Omit<RenderedFile, "content" | "shown"> {
  /** Of the file as it goes to the server. */
  sha256: string;
  /** gen render wrote the file into out/ with [secret:NAME] in place of each value (no --show-secrets). */
  placeholders?: true;
}

export interface Manifest {
  environment: string;
  files: ManifestFile[];
  folders: FolderSpec[];
}

/** A problem found in an environment or a rendered file; `field` names the environment field(s) involved. */
export interface Issue {
  severity: "error" | "warning";
  /** Where: an environment file, or a rendered path. */
  source: string;
  /** Dotted environment field path(s), when known. */
  fields?: string[];
  message: string;
}
