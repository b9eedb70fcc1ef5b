// One long-lived shell per host (and per privilege: one `sudo -n`, one shell start-up) that runs the steps gen
// sends it, in order, and answers each with one record: exit status, stdout and stderr. This module owns the
// framing, the start-up, timeouts and errors: a lost channel rejects every pending step with a message naming
// the host and the step; nothing is left waiting.
//
// gen -> server: the session's token on a line of its own, then per step
// `<id> <a|c|g|j> <L lines|B bytes> <stdin bytes>[ o]\n<script><stdin>`, and after the input of a step that reads it
// itself (`o`) `\n<token> I <id>\n`; `c` skips the step when the one
// before it failed or was skipped (a chain that stops at its first failure, in one round trip); `g` when the last
// step that was not `g` failed or was skipped (a group guarded by one step); `j` only when the one before was skipped,
// and a failure of that one carries on to the steps chained after it (two halves that each report all they find).
// server -> gen: the step's own output, then `\n<token> R <id> <status|skip>\n` on stdout and `\n<token> E <id>\n`
// on stderr. The token is random per session, so no output can forge an end. A step costs the server one fork
// (the subshell): a process started on a busy machine costs 5-10 ms.
import { requestCounts } from "./exec-count.js";
import { randomBytes } from "node:crypto";
import { ConnectionLostError, GenError } from "../errors.js";
import { programText } from "../program-text.js";

/**
 * The last line of every script sent by size: the driver runs none that does not end with it (session-driver.sh has
 * it in its own words), so a script cut short by the end of the session is not run.
 */
const SCRIPT_END = ": gen-script-end";

/**
 * The server side, POSIX sh: session-driver.sh beside this module. A small script comes as lines read by the shell
 * itself (no process); a large one, and input, through GNU `head -c`, which reads no more than it is asked from a pipe.
 *
 * The session's token is the first line of its input, never part of the command line: every local user can read a
 * process's argv (`ps`), and with the token they could forge the end of a step in what they get a root step to print.
 * A step's input goes from the session's stream into the step through a pipe and never touches the disk: a session
 * that dies (connection cut, killed) leaves nothing behind, where a scratch file would stay with whatever secrets it
 * held. What the step leaves unread is drained, so the next frame starts where it should; `read` first, without a
 * process, sees the end of the input in the usual case of a step that read all of it.
 */
export function sessionDriver(): string {
  return programText(import.meta.url, "./session-driver.sh");
}

/** A fresh token per session. */
export function sessionToken(): string {
  return `gen-${randomBytes(16).toString("hex")}`;
}

/** A started driver process: ssh exec channel or a local child process. */
export interface SessionChannel {
  write(data: Buffer): void;
  onStdout(listener: (chunk: Buffer) => void): void;
  onStderr(listener: (chunk: Buffer) => void): void;
  /** Once, when the channel is gone; exitCode undefined when it ended without an exit status (connection lost). */
  onClose(listener: (exitCode: number | undefined) => void): void;
  /** Ends the driver's input (it then exits) and the channel. */
  end(): void;
}

export interface Step {
  /** What the step does, for messages: "taking the lock". */
  name: string;
  /** sh, run in a subshell of the session's shell: `exit` ends the step only, and `exec` of its last command saves a process. */
  script: string;
  stdin?: Buffer | string;
  /** Skipped (result `skipped`) when the step sent just before it failed or was skipped. */
  afterSuccess?: boolean;
  /**
   * Skipped when the last step sent without this flag failed or was skipped: a group guarded by one step (the
   * steps that may only run once the lock is taken), whatever its members' own statuses.
   */
  guarded?: boolean;
  /**
   * Runs whatever the step sent just before it did (unless that one was skipped), and a failure of that one carries on
   * to the steps chained after this one: two halves that each report every problem they find, and stop the chain if
   * either did.
   */
  joins?: boolean;
  /** No limit by default: a restart or a build may take its time. */
  timeoutMs?: number;
  /**
   * The step's program reads exactly its input's bytes from the session's own stream (root_files.py does, with exact
   * reads), instead of through a `head` process; the driver then passes over whatever it left unread, up to an end
   * line that holds the session's token.
   */
  readsOwnInput?: boolean;
  /**
   * Called with the step's output as it comes (a dependency install that takes minutes), before its answer; the
   * answer still holds all of it. A few dozen bytes may wait for the next chunk: they could be the start of the end.
   */
  onOutput?: (chunk: Buffer, stream: "stdout" | "stderr") => void;
}

export interface StepResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  skipped?: boolean;
}

export interface RemoteSession {
  /** Opens the channel now (sudo, the shell's start-up) instead of on the first step; a failure answers that step. */
  start(): void;
  run(step: Step): Promise<StepResult>;
  /** Sends every step at once (one round trip) and answers them in order. */
  runAll(steps: Step[]): Promise<StepResult[]>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Names the host in messages: "deployer@host:22". */
  where: string;
  /** Starts `driver` (an sh script) on the server; the caller wraps it in sudo, env, ... */
  open: (driver: string) => Promise<SessionChannel>;
  /** Why the connection dropped, if known. */
  lostReason?: () => Error | undefined;
  /**
   * close() returns as soon as the driver's input is ended when every step has its answer, without waiting for
   * the driver to exit: for a caller that ends the whole connection next (the exit status would say nothing more).
   */
  endsConnectionAfter?: boolean;
}

interface Pending {
  id: number;
  step: Step;
  resolve: (result: StepResult) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Opens the channel on the first step. When the driver could not start (sudo refused, no shell), every step
 * sent to it is answered with the channel's exit status and stderr, as a one-off command would be; the next
 * step tries again. When the channel is lost after start, pending steps reject naming host and step.
 */
export function remoteSession(options: SessionOptions): RemoteSession {
  let live: Live | undefined;
  let nextId = 1;
  const current = (): Live => {
    if (!live || live.dead) live = startLive(options, () => (live = undefined));
    return live;
  };
  const send = (step: Step): Promise<StepResult> => new Promise((resolve, reject) => current().send({ id: nextId++, step, resolve, reject }));
  return {
    start: () => void current(),
    run: send,
    runAll: (steps) => {
      if (steps.length > 0) requestCounts.batches++;
      return Promise.all(steps.map(send));
    },
    async close() {
      const closing = live;
      live = undefined;
      await closing?.close();
    },
  };
}

interface Live {
  dead: boolean;
  send(pending: Pending): void;
  close(): Promise<void>;
}

function startLive(options: SessionOptions, forget: () => void): Live {
  const token = sessionToken();
  const pending: Pending[] = [];
  // The record under way on a stream is that of the first step whose record on it is not complete yet.
  const streamed = (stream: "stdout" | "stderr") => (bytes: Buffer) =>
    pending[(stream === "stdout" ? out : err).records.length]?.step.onOutput?.(bytes, stream);
  const out = framer(Buffer.from(`${token} READY\n`), Buffer.from(`\n${token} R `), streamed("stdout"));
  const err = framer(Buffer.from(`${token} READY\n`), Buffer.from(`\n${token} E `), streamed("stderr"));
  let channel: SessionChannel | undefined;
  let closed: () => void = () => {};
  const whenClosed = new Promise<void>((resolve) => (closed = resolve));
  const queued: Buffer[] = [];
  const state: Live = {
    dead: false,
    send(entry) {
      if (state.dead) return entry.reject(new GenError(`${options.where}: ${entry.step.name} was not run: the session is closed`));
      pending.push(entry);
      if (entry.step.timeoutMs !== undefined) entry.timer = setTimeout(() => timedOut(entry), entry.step.timeoutMs);
      const frame = encode(entry, token);
      if (channel) channel.write(frame);
      else queued.push(frame);
    },
    async close() {
      if (!channel) {
        state.dead = true;
        return;
      }
      channel.end();
      if (options.endsConnectionAfter && pending.length === 0) state.dead = true;
      else await whenClosed;
    },
  };

  const fail = (error: (entry: Pending) => Error) => {
    if (!state.dead) forget();
    state.dead = true;
    for (const entry of pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(error(entry));
    }
  };
  const timedOut = (entry: Pending) => {
    const seconds = Number(((entry.step.timeoutMs ?? 0) / 1000).toFixed(2));
    const first = new GenError(`${options.where}: ${entry.step.name} did not finish within ${seconds} s; the session was closed`);
    fail((other) => (other === entry ? first : new GenError(`${options.where}: ${other.step.name} was not run: ${entry.step.name} timed out before it`)));
    channel?.end();
  };
  // A step is answered once both streams have closed its record.
  const settle = () => {
    while (pending.length > 0 && out.records.length > 0 && err.records.length > 0) {
      const stdout = out.records.shift()!;
      const stderr = err.records.shift()!;
      const entry = pending.shift()!;
      const [id, status] = stdout.tail.split(" ");
      if (String(entry.id) !== id || stderr.tail !== id) {
        fail(() => new GenError(`${options.where}: the remote session answered out of order (${stdout.tail}); it was closed`));
        channel?.end();
        return;
      }
      clearTimeout(entry.timer);
      const skipped = status === "skip";
      entry.resolve({ exitCode: skipped ? -1 : Number(status), stdout: stdout.body, stderr: stderr.body, ...(skipped ? { skipped } : {}) });
    }
  };
  const onClose = (exitCode: number | undefined) => {
    const wasDead = state.dead;
    state.dead = true;
    if (!wasDead) forget();
    closed();
    if (!out.ready && exitCode !== undefined) {
      // The driver never started: answer like a one-off command that failed (sudo's own words on stderr).
      for (const entry of pending.splice(0)) {
        clearTimeout(entry.timer);
        entry.resolve({ exitCode, stdout: Buffer.alloc(0), stderr: err.early() });
      }
      return;
    }
    const lost = options.lostReason?.();
    if (lost || exitCode === undefined) {
      const reason = lost ? `: ${lost.message}` : "";
      fail(
        (entry) =>
          new ConnectionLostError(`${options.where}: connection lost while ${entry.step.name}: it ended without an exit status (connection lost?)${reason}`),
      );
      return;
    }
    fail((entry) => new GenError(`${options.where}: ${entry.step.name} ended without an exit status (the remote shell ended with status ${exitCode})`));
  };

  options.open(sessionDriver()).then(
    (opened) => {
      if (state.dead) return opened.end();
      channel = opened;
      opened.write(Buffer.from(`${token}\n`));
      opened.onStdout((chunk) => (out.push(chunk), settle()));
      opened.onStderr((chunk) => (err.push(chunk), settle()));
      opened.onClose(onClose);
      for (const frame of queued.splice(0)) opened.write(frame);
    },
    (error: unknown) => {
      closed();
      fail(() =>
        error instanceof GenError ? error : new GenError(`${options.where}: cannot start the remote session: ${(error as Error).message}`, { cause: error }),
      );
    },
  );
  return state;
}

interface Record {
  body: Buffer;
  /** The rest of the marker line: "<id> <status>" on stdout, "<id>" on stderr. */
  tail: string;
}

/**
 * Cuts one output stream into records: what comes before `ready` is not ours (a login script's greeting,
 * sudo's refusal), then each record is the step's output up to `marker`, and the marker line's rest. `onBody` gets
 * the record under way's output as soon as it cannot be part of a marker.
 */
function framer(ready: Buffer, marker: Buffer, onBody: (bytes: Buffer) => void = () => {}) {
  const chunks: Buffer[] = [];
  // The record under way: `parts` hold bytes that cannot start a marker (scanned already), `buffer` the rest. Each
  // chunk is scanned once and a record joined once, so a large output costs linear time, not a copy per chunk.
  let parts: Buffer[] = [];
  // A record's first byte is the newline that ended the line before it, not output.
  let started = false;
  const body = (bytes: Buffer) => {
    const output = started ? bytes : bytes.subarray(1);
    started = true;
    if (output.length > 0) onBody(output);
  };
  let buffer = Buffer.alloc(0) as Buffer;
  let scanFrom = 0;
  const state = {
    ready: false,
    records: [] as Record[],
    early: () => Buffer.concat(chunks),
    push(chunk: Buffer) {
      if (!state.ready) {
        chunks.push(chunk);
        const all = Buffer.concat(chunks);
        const at = all.indexOf(ready);
        if (at < 0) return;
        state.ready = true;
        // The first record's output starts right after the ready line; markers start with a newline.
        buffer = Buffer.concat([Buffer.from("\n"), all.subarray(at + ready.length)]);
      } else {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      }
      for (;;) {
        const at = buffer.indexOf(marker, scanFrom);
        if (at < 0) {
          const keep = heldFrom(buffer, marker);
          if (keep > 0) {
            parts.push(buffer.subarray(0, keep));
            body(buffer.subarray(0, keep));
          }
          buffer = buffer.subarray(keep);
          scanFrom = 0;
          return;
        }
        const lineEnd = buffer.indexOf(10, at + marker.length);
        if (lineEnd < 0) {
          scanFrom = at;
          return;
        }
        // Each record's output follows the newline that ended the previous marker line (or the ready line).
        const whole = parts.length ? Buffer.concat([...parts, buffer.subarray(0, at)]) : buffer.subarray(0, at);
        if (at > 0) body(buffer.subarray(0, at));
        started = false;
        state.records.push({ body: Buffer.from(whole.subarray(1)), tail: buffer.subarray(at + marker.length, lineEnd).toString("latin1") });
        parts = [];
        buffer = buffer.subarray(lineEnd);
        scanFrom = 0;
      }
    },
  };
  return state;
}

/**
 * Where the bytes that the next chunk could make a marker start: the marker's one newline, when what follows it is the
 * start of a marker; otherwise none is held (the whole buffer is output).
 */
function heldFrom(buffer: Buffer, marker: Buffer): number {
  const newline = buffer.lastIndexOf(10);
  if (newline < 0 || buffer.length - newline >= marker.length) return buffer.length;
  return marker.subarray(0, buffer.length - newline).equals(buffer.subarray(newline)) ? newline : buffer.length;
}

/**
 * Scripts up to this size are read line by line by the shell; larger ones by one `head -c`. The shell's `read` takes
 * a byte per system call from a pipe: past about 4 KB that costs more than starting head (8 KB: 12.5 against 7.2 ms).
 */
const LINE_READ_LIMIT = 4 * 1024;

function encode(entry: Pending, token: string): Buffer {
  const text = entry.step.script.endsWith("\n") ? entry.step.script : `${entry.step.script}\n`;
  const script = Buffer.from(text);
  const stdin = Buffer.from(entry.step.stdin ?? "");
  const mode = entry.step.guarded ? "g" : entry.step.afterSuccess ? "c" : entry.step.joins ? "j" : "a";
  const bySize = script.length > LINE_READ_LIMIT;
  const body = bySize ? Buffer.concat([script, Buffer.from(`${SCRIPT_END}\n`)]) : script;
  const size = bySize ? `B ${body.length}` : `L ${text.split("\n").length - 1}`;
  const own = entry.step.readsOwnInput && stdin.length > 0;
  const header = `${entry.id} ${mode} ${size} ${stdin.length}${own ? " o" : ""}\n`;
  return Buffer.concat([Buffer.from(header), body, stdin, ...(own ? [Buffer.from(`\n${token} I ${entry.id}\n`)] : [])]);
}
