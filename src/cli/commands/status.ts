import type { GenCommand } from "../command.js";
import { withConnectOptions, type ConnectArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export type StatusArgs = ConnectArgs & { env: string };

export const statusCommand: GenCommand<StatusArgs> = {
  command: "status [env]",
  describe: "Per host: the live release, gen's lock and its holder, and whether the managed files drifted (exit 0: in sync, 2: drifted, 1: error)",
  reportsDifferences: true,
  builder: (yargs) => withConnectOptions(withEnvironment(yargs)) as never,
  examples: [["gen status prod --json", "for monitoring: exit 2 when a file drifted (gen diff prod shows it)"]],
  run: async (argv, output) => (await import("./status-run.js")).runStatus(argv, output),
};
