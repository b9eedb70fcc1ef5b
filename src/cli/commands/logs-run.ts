// The work of `gen logs`, loaded only when the command runs (keeps start-up small). Journal lines are written by the
// application: hostile text, shown escaped as every human line is (output.ts); in --json each line is a string.
import { GenError } from "../../errors.js";
import { signalExitCode } from "../../interrupt.js";
import { chosenUnits, environmentUnits, journalctlArgv, requireJournalAccess } from "../../operate/journal.js";
import { serverShell } from "../../server/server-shell.js";
import { visibleText } from "../../server/server-text.js";
import { environmentHosts, forEachHost, type HostEntry } from "../../transport/open-transport.js";
import type { Attached, Transport } from "../../transport/transport.js";
import { passSignals } from "../attached-signals.js";
import { connectOptions } from "../connect-options.js";
import { loadWithoutSecrets, type GlobalOptions } from "../environment-options.js";
import { lineStream } from "../line-stream.js";
import { printResult, type Output } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { LogsArgs } from "./logs.js";

interface HostLog {
  units: string[];
  lines: string[];
}

export async function runLogs(argv: LogsArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  const loaded = await loadWithoutSecrets(argv.env, argv);
  const env = loaded.environment;
  if (env.server.transport === "local")
    throw new GenError(
      `${argv.env} is a sandbox: its service commands are recorded, not run, so it has no journal (see ${env.server.localRoot ?? `.gen-local/${argv.env}`}/.gen-sandbox/commands.log)`,
    );
  // Checked before connecting: only a unit gen renders reaches journalctl.
  const units = chosenUnits(env, argv.env, argv.unit);
  const hosts = environmentHosts(env, argv.env);
  const user = env.release.sshUser ?? env.server.deployUser;
  const running = new Set<Attached>();
  const signals = passSignals(() => {
    for (const attached of running) attached.stop();
  });
  const show = (host: HostEntry, line: string, stream: "out" | "err") => output[stream](hosts.length > 1 ? `${host.name}: ${line}` : line);
  const readHost = async (transport: Transport, host: HostEntry): Promise<HostLog> => {
    const own = units.filter((unit) => environmentUnits(env, host.roles).includes(unit));
    if (own.length === 0) {
      if (!argv.json) output.err(`${host.name}: runs none of ${units.join(", ")} (roles ${host.roles.join(", ")})`);
      return { units: [], lines: [] };
    }
    await requireJournalAccess(serverShell(transport, env, { sudo: false }), user);
    return readJournal(transport, own, argv, (line, stream) => (argv.json ? undefined : show(host, line, stream)), {
      started: (attached) => (signals.first ? attached.stop() : running.add(attached)),
      ended: (attached) => running.delete(attached),
    });
  };
  try {
    // Followed journals are read all at once: each host's lines come as they are written.
    const concurrency = argv.follow ? hosts.length : argv.concurrency;
    const outcomes = await forEachHost(env, { ...connectOptions(argv, argv.env), sshUser: user }, concurrency, readHost);
    if (argv.json) {
      printResult(output, "logs", {
        environment: argv.env,
        hosts: outcomes.map((o) => (o.ok ? { host: o.host.name, units: o.value.units, lines: o.value.lines } : { host: o.host.name, error: o.error })),
      });
    } else {
      for (const o of outcomes) if (!o.ok) output.err(`${o.host.name}: ${o.error}`);
    }
    if (!outcomes.every((o) => o.ok)) return 1;
    // -f ends only by a signal: that is its end, not a failure. A listing cut short by one is not whole.
    return signals.first && !argv.follow ? signalExitCode(signals.first) : 0;
  } finally {
    signals.release();
  }
}

interface Tracking {
  started: (attached: Attached) => void;
  ended: (attached: Attached) => void;
}

/** journalctl for `units` on one host, each line handed to `print` as it comes; its exit status checked. */
async function readJournal(
  transport: Transport,
  units: string[],
  options: { lines: number; follow: boolean },
  print: (line: string, stream: "out" | "err") => void,
  tracking: Tracking,
): Promise<HostLog> {
  if (!transport.attach) throw new GenError(`${transport.describe}: gen logs needs an SSH connection`);
  const lines: string[] = [];
  const errors: string[] = [];
  const stdout = lineStream((line) => {
    lines.push(visibleText(line));
    print(line, "out");
  });
  const stderr = lineStream((line) => {
    errors.push(visibleText(line));
    print(line, "err");
  });
  const attached = await transport.attach(journalctlArgv(units, options), { onStdout: stdout.write, onStderr: stderr.write });
  tracking.started(attached);
  try {
    const code = await attached.exited;
    stdout.end();
    stderr.end();
    // 143: stopped by gen (TERM), as -f is; anything else non-zero is journalctl's own failure.
    if (code !== 0 && code !== 143) throw new GenError(`journalctl failed on ${transport.describe} (exit ${code})`, { details: errors.slice(-10) });
    return { units, lines };
  } finally {
    tracking.ended(attached);
  }
}
