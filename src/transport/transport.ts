// One small interface for a server. Implementations: ssh (ssh2) and local (a folder standing in for /).
// Paths are absolute server paths; a transport maps them onto its root. Commands run in one remote session per
// privilege (remote-session.ts): one exec request and one shell start-up for the whole command.
import type { Step as SessionStep, StepResult as SessionResult } from "./remote-session.js";

/**
 * A step of the host's session. `serverOnly`: it acts on the server's running system (systemd, nginx, the application),
 * which a folder standing in for a server does not have: such a host does not run it, and records `record` (the
 * command as it would have run, and why) when given.
 */
export interface Step extends SessionStep {
  serverOnly?: { record?: { argv: string[]; why: string } };
  /**
   * The owners the step gives these paths when it succeeds. Its script sets them; a host that cannot (a folder standing
   * in for a server, without root) sets GEN_OWNERS=recorded in the steps' environment and records them instead.
   */
  owners?: OwnedPath[];
}

export interface OwnedPath {
  path: string;
  owner: string;
  group: string;
}

/** `notRun`: the host only stands in for a server and did not run this serverOnly step (it recorded it, if asked). */
export interface StepResult extends SessionResult {
  notRun?: boolean;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Run through `sudo -n` on the server. */
  sudo?: boolean;
  /** Text fed to the command's standard input. */
  stdin?: string | Buffer;
  /** Called with each chunk of output as it arrives (for streaming). */
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
  cwd?: string;
  /** What the command does, named in errors ("taking the lock"). */
  step?: string;
}

/** A command with a channel of its own, attached to this process: gen logs, gen run. */
export interface AttachOptions {
  /** A server path to start in (mapped under the root, as run()'s). */
  cwd?: string;
  /** A pseudo-terminal on the server of this size (gen run --tty); without it there is no terminal there. */
  tty?: TerminalSize & { term: string };
  onStdout: (chunk: Buffer) => void;
  onStderr: (chunk: Buffer) => void;
}

export interface TerminalSize {
  rows: number;
  cols: number;
}

export interface Attached {
  /** Input for the command. */
  write(data: Buffer | string): void;
  /** No more input. */
  end(): void;
  /** The terminal's new size (with a tty). */
  resize(size: TerminalSize): void;
  /** A signal to the command's process group (OpenSSH 7.9 or newer), its channel kept. */
  signal(name: "INT" | "TERM" | "HUP"): void;
  /** Ends the command: TERM to its process group, then its channel closed (which ends it on an older server too). */
  stop(): void;
  /** The command's exit status (128 + n when a signal ended it, 143 whenever stop() ended it); rejects when the connection went. */
  exited: Promise<number>;
}

export interface Transport {
  /**
   * Server path -> "user:group", on a host that records owners instead of setting them (a folder standing in for a
   * server, sandbox-transport.ts): there these are the owners, not the files' own.
   */
  recordedOwners?(): Promise<Record<string, string>>;
  /** Human-readable name for messages: "deployer@tsosi.u-ga.fr:22" or "local:/tmp/root". */
  readonly describe: string;
  /** The folder that stands for the server's "/": "/" on a real server. Commands see paths under it. */
  readonly root: string;
  /** Opens what puts local files on the server: over SSH a connection of its own (SFTP), opened only now. */
  openUploader(): Promise<Uploader>;
  /** argv is quoted for the remote shell by the transport; values are data, never shell syntax. */
  run(argv: string[], options?: RunOptions): Promise<CommandResult>;
  /** A raw shell script (already quoted by the caller); use run() unless a pipeline is needed. */
  runScript(script: string, options?: RunOptions): Promise<CommandResult>;
  /**
   * Steps (sh scripts) sent together to the host's session and answered in order, one record each; paths in
   * them are already mapped under the root (GEN_ROOT is set as for run()).
   */
  steps(steps: Step[], options?: { sudo?: boolean }): Promise<StepResult[]>;
  /** Starts `argv` on a channel of its own, its output handed on as it comes (SSH only: the sandbox runs no service). */
  attach?(argv: string[], options: AttachOptions): Promise<Attached>;
  /** Starts the session now, so that its start-up (sudo, the login shell) overlaps the caller's own work. */
  startSession?(options: { sudo?: boolean }): void;
  close(): Promise<void>;
}

/** Puts files on a server (a deploy's backend archive and front end); close() ends its connection. */
export interface Uploader {
  /** Writes content to a file whose folder exists; the file ends with exactly `mode`, whatever the umask. */
  putFile(path: string, content: Buffer, mode: string): Promise<void>;
  /**
   * Every regular file under localDir into remoteDir, which is there (its subfolders are made; links and other kinds are left out),
   * many files at once, with the server's default modes. `onFile` is called as each file is sent: when it throws, no
   * further file starts, the transfers under way finish, and putFolder throws that error once they have.
   */
  putFolder(localDir: string, remoteDir: string, onFile: () => void): Promise<void>;
  close(): Promise<void>;
}
