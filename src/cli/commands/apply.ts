import type { GenCommand } from "../command.js";
import { withConnectOptions, withSudoPasswordOption, type ConnectArgs, type SudoPasswordArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export interface ApplyArgs extends ConnectArgs, SudoPasswordArgs {
  env: string;
  yes: boolean;
  "dry-run": boolean;
  "force-unlock": boolean;
  plan?: string;
}

export const applyCommand: GenCommand<ApplyArgs> = {
  command: "apply [env]",
  describe: "Sync the server with the environment: checked files, atomic renames, only the needed restarts, rollback on failure",
  builder: (yargs) =>
    withSudoPasswordOption(withConnectOptions(withEnvironment(yargs)))
      .option("yes", { type: "boolean", default: false, describe: "do not ask for confirmation" })
      .option("dry-run", { type: "boolean", default: false, describe: "show the plan and stop" })
      .option("force-unlock", { type: "boolean", default: false, describe: "take over a lock left by an interrupted apply or deploy (it is shown first)" })
      .option("plan", { type: "string", requiresArg: true, describe: "apply a plan saved by gen diff --out, exactly as reviewed" }) as never,
  examples: [
    ["gen apply prod", "show the plan, ask, then apply it"],
    ["gen apply prod --plan plan.json --yes", "apply a reviewed plan; refused if anything changed since"],
  ],
  run: async (argv, output) => (await import("./apply-run.js")).runApply(argv, output),
};
