import type { GenCommand } from "../command.js";
import { withConnectOptions, type ConnectArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export type RunArgs = ConnectArgs & { env: string; tty: boolean; host?: string; "--"?: (string | number)[] };

export const runCommand: GenCommand<RunArgs> = {
  command: "run [env]",
  describe: "Run a Django management command in the live release (manage.py as the release tasks run it), as the release user",
  builder: (yargs) =>
    withConnectOptions(withEnvironment(yargs))
      .usage("$0 run [env] [options] -- <command> [arguments]\n\nRun a Django management command in the live release, as the release user.")
      // What follows -- is the management command, word for word, never options of gen's.
      .parserConfiguration({ "populate--": true })
      .option("tty", { alias: "t", type: "boolean", default: false, describe: "a terminal on the server, for interactive commands (shell, createsuperuser)" })
      .option("host", { type: "string", requiresArg: true, describe: "the host to run it on (default: the first of server.hosts)" })
      .check((argv) => {
        if (argv.json) throw new Error("gen run passes the command's own output through and has no --json document");
        return true;
      }) as never,
  examples: [
    ["gen run prod -- migrate --plan", "what migrate would do in the live release; gen exits with the command's status"],
    ["gen run prod -t -- shell", "Django's shell on the server, interactive"],
  ],
  run: async (argv, output) => (await import("./run-run.js")).runManage(argv, output),
};
