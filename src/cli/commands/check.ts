import type { GenCommand } from "../command.js";
import { withConnectOptions, type ConnectArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export const checkCommand: GenCommand<ConnectArgs & { env: string }> = {
  command: "check [env]",
  describe: "Run the smoke checks of a deploy against the live release now (Gunicorn, nginx, static, media, Celery, certificate)",
  builder: (yargs) => withConnectOptions(withEnvironment(yargs)) as never,
  examples: [["gen check prod --json", "for cron or monitoring: exit 0 when every check passed, 1 otherwise"]],
  run: async (argv, output) => (await import("./check-run.js")).runCheck(argv, output),
};
