// The one way out: everything gen prints (human text, JSON documents, errors, --debug traces, prompts, the upload
// bar) goes through an Output, and nothing else in src/ writes to the process's streams (test/import-graph.test.ts).
// An Output redacts every secret value gen has read, in every form it can be printed in (src/secrets), unless
// --show-secrets; and what reaches the terminal cannot drive it:
// - human text (out, err, questions) shows every control character visibly escaped (`\x1b`, `\u202e`, as `ls -b`),
//   line breaks and tabs excepted, whatever its origin: a server file, a release title, a migration name, an error;
//   gen's own colours are styles laid on afterwards, never bytes of the text;
// - a JSON document is the value serialised after each of its strings was redacted; JSON escapes C0 controls, and the
//   others (DEL, C1, bidirectional overrides) are written as \u escapes too: the same document, nothing raw;
// - verbatim text, what the user asked to see as it is (a rendered file of gen render --stdout, gen show, gen schema,
//   help), is only redacted.
import picocolors from "picocolors";
import { redactKnownSecrets } from "../secrets/index.js";
import { visibleLines } from "../server/server-text.js";
import { interruptedAtQuestion, questionSignal } from "./interrupts.js";

/** Where an Output writes whole texts: the process's streams, or a test's collectors. */
export interface Sink {
  out: (text: string) => void;
  err: (text: string) => void;
}

export type Style = "bold" | "dim" | "red" | "green" | "yellow" | "cyan";

/** Text of gen's own shown in a style: the style is applied by the Output, after escaping. */
export interface Styled {
  style: Style;
  text: string;
}

/** What out and err take: text, styled text, or a line made of both. */
export type Text = string | Styled | (string | Styled)[];

export interface ProgressBar {
  update: (done: number, total: number) => void;
  stop: () => void;
}

export interface Output {
  /** Human text on standard output. */
  out: (text: Text) => void;
  /** Human text on standard error (progress, plans with --json, warnings, errors). */
  err: (text: Text) => void;
  /** One JSON document on standard output. */
  json: (value: unknown) => void;
  /** Text the user asked to see as it is, on standard output: only redacted. */
  verbatim: (text: string) => void;
  /** Asks yes/no on the terminal; anything but y/yes is no, and so is Ctrl-C or a stop (interrupts.ts is told). */
  confirm: (question: string) => Promise<boolean>;
  /** `label [████░░░░] done/total unit` on standard error when it is a terminal; undefined otherwise. */
  progressBar: (label: string, unit: string) => ProgressBar | undefined;
  /** This Output with standard output sent to standard error too (what --json moves out of the document's way). */
  onStandardError: () => Output;
}

export interface OutputOptions {
  /** --show-secrets: print secret values as they are. */
  showSecrets?: boolean;
  /** Colours (default: on a terminal, as NO_COLOR and FORCE_COLOR say). */
  color?: boolean;
  /** The terminal that questions and the progress bar use (default: standard error when it is one). */
  terminal?: NodeJS.WriteStream | undefined;
}

export function createOutput(sink: Sink, options: OutputOptions = {}): Output {
  const redact = options.showSecrets ? (text: string) => text : redactKnownSecrets;
  const colors = picocolors.createColors(options.color ?? wantColor());
  // Looked up when asked for (std below says why).
  const terminal = () => ("terminal" in options ? options.terminal : std("err").isTTY ? std("err") : undefined);
  const human = (text: Text) => shown(text, redact, colors);
  const output: Output = {
    out: (text) => sink.out(human(text)),
    err: (text) => sink.err(human(text)),
    json: (value) => sink.out(jsonDocument(value, redact)),
    verbatim: (text) => sink.out(redact(text)),
    confirm: (question) => ask(human(question), terminal() ?? std("err")),
    progressBar: (label, unit) => {
      const stream = terminal();
      return stream ? progressBar(stream, human(label), human(unit)) : undefined;
    },
    onStandardError: () => (sink.out === sink.err ? output : createOutput({ out: sink.err, err: sink.err }, { ...options, terminal: terminal() })),
  };
  return output;
}

/** The process's standard output and error, written a whole text at a time. */
export const processSink: Sink = { out: lineWriter("out"), err: lineWriter("err") };

/** Whether gen's standard output (or error) is a terminal: a server's bytes are then shown escaped, line by line. */
export function isTerminal(stream: "out" | "err"): boolean {
  return std(stream).isTTY === true;
}

/**
 * Bytes written as they are, on standard output or error: only what the user sends into a file or pipe (a management
 * command's output, as `ssh host cmd > file` gives it) or a terminal on the server draws on theirs (gen run --tty).
 */
export function writeRaw(stream: "out" | "err", chunk: Buffer): void {
  std(stream).write(chunk);
}

/** This process's terminal lent to a terminal on the server: raw keys in, its size and resizes. */
export interface TerminalLink {
  rows: number;
  cols: number;
  term: string;
  onInput: (listener: (data: Buffer) => void) => void;
  onResize: (listener: (size: { rows: number; cols: number }) => void) => void;
  /** Back to how it was (cooked mode, input paused, listeners removed). */
  restore: () => void;
}

/** The terminal in raw mode (Ctrl-C is then a key for the server), or undefined when standard input or output is none. */
export function rawTerminal(): TerminalLink | undefined {
  const { stdin, stdout } = process;
  if (!stdin.isTTY || !stdout.isTTY) return undefined;
  const inputs: ((data: Buffer) => void)[] = [];
  const resizes: (() => void)[] = [];
  stdin.setRawMode(true);
  return {
    rows: stdout.rows || 24,
    cols: stdout.columns || 80,
    term: process.env.TERM || "xterm",
    onInput: (listener) => {
      inputs.push(listener);
      stdin.on("data", listener).resume();
    },
    onResize: (listener) => {
      const resized = () => listener({ rows: stdout.rows, cols: stdout.columns });
      resizes.push(resized);
      stdout.on("resize", resized);
    },
    restore: () => {
      for (const listener of inputs) stdin.off("data", listener);
      for (const listener of resizes) stdout.off("resize", listener);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

/** The width help is laid out for. */
export function terminalColumns(): number {
  return std("out").columns || 100;
}

/**
 * Writes whole lines. A reader that went away (`gen diff | head -1`) or a terminal that was closed (EIO, with the
 * SIGHUP that interrupts.ts takes) is not an error: later lines are dropped and the command finishes its work (an
 * apply is never cut short by a closed pipe or terminal).
 */
function lineWriter(which: "out" | "err"): (text: string) => void {
  return (text) => {
    const stream = std(which);
    if (!closed.has(which)) stream.write(text.endsWith("\n") ? text : `${text}\n`);
  };
}

/** The streams whose reader went away or whose terminal was closed. */
const closed = new Set<"out" | "err">();
const guarded = new Set<NodeJS.WriteStream>();

/**
 * process.stdout or process.stderr, with the handler that makes a reader gone or a terminal closed no error. Taken
 * when first needed, never before: Node makes each stream when it is first read, and a pipe's loads Node's network
 * modules, which a command that prints nothing there (a render's standard error) need not pay.
 */
function std(which: "out" | "err"): NodeJS.WriteStream {
  const stream = which === "out" ? process.stdout : process.stderr;
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "EIO") throw error;
      closed.add(which);
    });
  }
  return stream;
}

/**
 * Human text as printed: redacted, escaped, styled. A line made of parts is redacted part by part so that each keeps
 * its style, unless a secret spans two parts: then the whole line is redacted and printed without styles.
 */
function shown(text: Text, redact: (text: string) => string, colors: ReturnType<typeof picocolors.createColors>): string {
  const parts = (Array.isArray(text) ? text : [text]).map((part) => (typeof part === "string" ? { text: part } : part));
  const redacted = parts.map((part) => ({ ...part, text: redact(part.text) }));
  const whole = redact(parts.map((part) => part.text).join(""));
  if (redacted.map((part) => part.text).join("") !== whole) return visibleLines(whole);
  return redacted.map((part) => ("style" in part && part.style ? colors[part.style as Style](visibleLines(part.text)) : visibleLines(part.text))).join("");
}

// What JSON.stringify leaves raw that a terminal acts on: DEL, C1 controls, bidirectional overrides and isolates,
// and the line and paragraph separators. (It escapes C0 controls itself; the document's own line breaks stay.)
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

function jsonDocument(value: unknown, redact: (text: string) => string): string {
  const text = JSON.stringify(redactStrings(value, redact), null, 2);
  return text.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A copy of a JSON value with every string (keys too) redacted: the document stays valid whatever a secret holds. */
function redactStrings(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactStrings(item, redact));
  if (typeof value === "object" && value !== null) {
    const plain = "toJSON" in value && typeof value.toJSON === "function" ? (value.toJSON as () => unknown)() : value;
    if (plain !== value) return redactStrings(plain, redact);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key), redactStrings(item, redact)]));
  }
  return value;
}

async function ask(question: string, terminal: NodeJS.WriteStream): Promise<boolean> {
  // Loaded here, not at start-up: readline and the streams under it are a fifth of the built-ins a command loads.
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: terminal });
  try {
    const signal = questionSignal();
    return /^(y|yes)$/i.test((await rl.question(`${question} [y/N] `, signal ? { signal } : {})).trim());
  } catch (error) {
    // readline answers Ctrl-C on a terminal by rejecting the question, and so does a stop (interrupts.ts): no.
    if ((error as Error).name !== "AbortError") throw error;
    rl.close();
    terminal.write("\n");
    interruptedAtQuestion();
    return false;
  } finally {
    rl.close();
  }
}

/** Asks on the terminal without echoing what is typed (a key's passphrase); `question` is escaped as human text is. */
export async function askHidden(question: string): Promise<string | undefined> {
  const { createInterface } = await import("node:readline");
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: std("err"), terminal: true });
    const mute = rl as unknown as { _writeToOutput: (s: string) => void };
    rl.question(visibleLines(question), (answer) => {
      rl.close();
      std("err").write("\n");
      resolve(answer === "" ? undefined : answer);
    });
    mute._writeToOutput = () => {};
  });
}

/** `label [████░░░░] done/total unit`, redrawn in place on the terminal, ended by a line break. */
function progressBar(terminal: NodeJS.WriteStream, label: string, unit: string): ProgressBar {
  const width = 30;
  let drawn = false;
  return {
    update: (done, total) => {
      const filled = total > 0 ? Math.min(width, Math.round((width * done) / total)) : width;
      terminal.write(`\r${label} [${"\u2588".repeat(filled)}${"\u2591".repeat(width - filled)}] ${done}/${total} ${unit}`);
      drawn = true;
    },
    stop: () => {
      if (drawn) terminal.write("\n");
      drawn = false;
    },
  };
}

// Colour only on a terminal: NO_COLOR turns it off, FORCE_COLOR on. (picocolors' own default also colours
// whenever CI is set, which would put escape codes into CI logs and piped output.)
function wantColor(): boolean {
  if ("NO_COLOR" in process.env) return false;
  if ("FORCE_COLOR" in process.env) return process.env.FORCE_COLOR !== "0";
  return std("out").isTTY === true && process.env.TERM !== "dumb";
}
