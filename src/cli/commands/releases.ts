import type { GenCommand } from "../command.js";
import { withConnectOptions, type ConnectArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export const releasesCommand: GenCommand<ConnectArgs & { env: string }> = {
  command: "releases [env]",
  describe: "List the releases on the server with their deployment.json, marking the live one",
  builder: (yargs) => withConnectOptions(withEnvironment(yargs)) as never,
  run: async (argv, output) => (await import("./releases-run.js")).runReleases(argv, output),
};

export const rollbackCommand: GenCommand<ConnectArgs & { env: string; to?: string; yes: boolean; "celery-no-restart": boolean; "force-unlock": boolean }> = {
  command: "rollback [env]",
  describe: "Switch current to the previous release (or --to ID) and restart as deploy does",
  builder: (yargs) =>
    withConnectOptions(withEnvironment(yargs))
      .option("to", { type: "string", requiresArg: true, describe: "the release ID to switch to (gen releases lists them)" })
      .option("yes", { type: "boolean", default: false, describe: "do not ask when the live release has migrations the target does not know" })
      .option("celery-no-restart", { type: "boolean", default: false, describe: "do not restart celery and celery beat" })
      .option("force-unlock", { type: "boolean", default: false, describe: "take over a stale lock" }) as never,
  run: async (argv, output) => (await import("./releases-run.js")).runRollback(argv, output),
};
