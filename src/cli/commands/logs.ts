import type { GenCommand } from "../command.js";
import { withConnectOptions, type ConnectArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export type LogsArgs = ConnectArgs & { env: string; unit?: string; follow: boolean; lines: number };

/** Lines shown per host unless -n says otherwise. */
export const DEFAULT_LOG_LINES = 50;

export const logsCommand: GenCommand<LogsArgs> = {
  command: "logs [env] [unit]",
  describe: "Show the journal of the environment's units on each host (journalctl over SSH, as the release user); -f follows it",
  builder: (yargs) =>
    withConnectOptions(withEnvironment(yargs))
      .positional("unit", { type: "string", describe: "one of the environment's units (tsosi_gunicorn or tsosi_gunicorn.service); default: all of them" })
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "go on printing lines as they are written, until Ctrl-C" })
      .option("lines", {
        alias: "n",
        type: "number",
        default: DEFAULT_LOG_LINES,
        describe: "how many of the last lines to show (per host)",
        coerce: (value: number) => {
          if (!Number.isInteger(value) || value < 0) throw new Error("option --lines expects a whole number from 0 up");
          return value;
        },
      })
      .check((argv) => {
        if (argv.follow && argv.json) throw new Error("--follow prints lines as they come and has no --json document: leave out one of them");
        return true;
      }) as never,
  examples: [
    ["gen logs prod tsosi_gunicorn -n 200", "the last 200 lines of Gunicorn's journal on each host"],
    ["gen logs prod -f", "every unit's journal as it is written, until Ctrl-C"],
  ],
  run: async (argv, output) => (await import("./logs-run.js")).runLogs(argv, output),
};
