import type { GenCommand } from "../command.js";
import { withEnvironment } from "../environment-options.js";

export interface ValidateArgs {
  env: string;
  tools: boolean;
}

export const validateCommand: GenCommand<ValidateArgs> = {
  command: "validate [env]",
  describe: "Check the schema, the relations between the rendered files, and each file with its real tool",
  builder: (yargs) =>
    withEnvironment(yargs).option("tools", {
      type: "boolean",
      default: true,
      describe: "run nginx -t, visudo, systemd-analyze, logrotate and python3 (--no-tools skips them)",
    }) as never,
  examples: [["gen validate prod", "schema, cross-file checks and the real tools"]],
  run: async (argv, output) => (await import("./validate-run.js")).runValidate(argv, output),
};
