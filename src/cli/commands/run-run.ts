// The work of `gen run`, loaded only when the command runs (keeps start-up small). The management command's words
// travel as one shell-quoted word each (never re-split by a shell), its exit status is gen's. Its output reaches a
// file or pipe as it is, and a terminal escaped line by line (as `ls` shows names there), unless --tty lends the
// terminal to a terminal on the server, where an interactive program (Django's shell) draws as it does over ssh -t.
import { GenError, UsageError, type ExitCode } from "../../errors.js";
import { liveBackend, requireManagePy } from "../../operate/manage-command.js";
import { serverShell } from "../../server/server-shell.js";
import { environmentHosts, openTransport, type HostEntry } from "../../transport/open-transport.js";
import { quoteArgv } from "../../transport/shell-quote.js";
import type { Attached, Transport } from "../../transport/transport.js";
import { passSignals } from "../attached-signals.js";
import { connectOptions } from "../connect-options.js";
import { loadWithoutSecrets, type GlobalOptions } from "../environment-options.js";
import { lineStream } from "../line-stream.js";
import { isTerminal, rawTerminal, writeRaw, type TerminalLink } from "../output.js";
import type { Output } from "../report.js";
import type { RunArgs } from "./run.js";
import type { Environment } from "../../../schema/index.js";

export async function runManage(argv: RunArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  const words = (argv["--"] ?? []).map(String);
  if (words.length === 0)
    throw new UsageError("name the management command after --: gen run <env> -- <command> [arguments]", ["e.g. gen run prod -- migrate --plan"]);
  if (argv.tty && !(process.stdin.isTTY && isTerminal("out"))) throw new UsageError("--tty needs a terminal: standard input and output are not one");
  const loaded = await loadWithoutSecrets(argv.env, argv);
  const env = loaded.environment;
  if (env.server.transport === "local") throw new GenError(`${argv.env} is a sandbox: gen run runs management commands on a server only`);
  const manage = requireManagePy(env, argv.env);
  const host = chosenHost(env, argv.env, argv.host);
  const transport = await openTransport(env, host, { ...connectOptions(argv, argv.env), sshUser: env.release.sshUser ?? env.server.deployUser });
  try {
    const live = await liveBackend(serverShell(transport, env, { sudo: false }), env, argv.env);
    const command = [...manage, ...words];
    output.err(`${host.name}: release ${live.release}: ${quoteArgv(command)}`);
    // The remote command's own status, passed through as ssh passes it.
    return (await runAttached(transport, command, live.folder, argv.tty, output)) as ExitCode;
  } finally {
    await transport.close();
  }
}

function chosenHost(env: Environment, envName: string, name: string | undefined): HostEntry {
  const hosts = environmentHosts(env, envName);
  const host = name === undefined ? hosts[0] : hosts.find((h) => h.name === name);
  if (!host) throw new UsageError(`--host ${name}: no such host in ${envName}`, [`its hosts: ${hosts.map((h) => h.name).join(", ")}`]);
  return host;
}

async function runAttached(transport: Transport, command: string[], cwd: string, tty: boolean, output: Output): Promise<number> {
  if (!transport.attach) throw new GenError(`${transport.describe}: gen run needs an SSH connection`);
  const terminal = tty ? rawTerminal() : undefined;
  const out = serverOutput("out", output, terminal !== undefined);
  const err = serverOutput("err", output, terminal !== undefined);
  let attached: Attached | undefined;
  // Without a terminal on the server, a signal is passed on to the command (Django's KeyboardInterrupt); a second one
  // ends it. With one, Ctrl-C is a key the server's terminal turns into SIGINT; SIGTERM and SIGHUP still come here.
  const signals = passSignals((signal, count) => (count > 1 ? attached?.stop() : attached?.signal(signal.slice(3) as "INT" | "TERM" | "HUP")));
  let stopInput = () => {};
  try {
    attached = await transport.attach(command, {
      cwd,
      ...(terminal ? { tty: { rows: terminal.rows, cols: terminal.cols, term: terminal.term } } : {}),
      onStdout: out.write,
      onStderr: err.write,
    });
    if (signals.first) attached.stop();
    stopInput = forwardInput(attached, terminal);
    return await attached.exited;
  } finally {
    out.end();
    err.end();
    stopInput();
    signals.release();
    terminal?.restore();
  }
}

/** Where the command's output goes: as it is into a file, a pipe or gen's own terminal lent out; escaped lines on a terminal. */
function serverOutput(stream: "out" | "err", output: Output, lent: boolean) {
  if (lent || !isTerminal(stream)) return { write: (chunk: Buffer) => writeRaw(stream, chunk), end: () => {} };
  return lineStream((line) => output[stream](line), { carriageReturn: true });
}

/**
 * gen's standard input for the command: the lent terminal's keys and size; else a file or pipe (`gen run prod -- shell
 * < script.py`); a terminal without --tty gives none (the command reads the end of its input at once).
 */
function forwardInput(attached: Attached, terminal: TerminalLink | undefined): () => void {
  if (terminal) {
    terminal.onInput((data) => attached.write(data));
    terminal.onResize((size) => attached.resize(size));
    return () => {};
  }
  const stdin = process.stdin;
  if (stdin.isTTY) {
    attached.end();
    return () => {};
  }
  const onData = (data: Buffer) => attached.write(data);
  const onEnd = () => attached.end();
  stdin.on("data", onData).on("end", onEnd).on("error", onEnd);
  return () => {
    stdin.off("data", onData).off("end", onEnd);
    stdin.destroy();
  };
}
