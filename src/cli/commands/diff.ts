import type { GenCommand } from "../command.js";
import { withConnectOptions, withSudoPasswordOption, type ConnectArgs, type SudoPasswordArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export interface DiffArgs extends ConnectArgs, SudoPasswordArgs {
  env: string;
  stat: boolean;
  only?: string;
  out?: string;
}

export const diffCommand: GenCommand<DiffArgs> = {
  command: "diff [env]",
  describe: "Compare the rendered files with the live server (exit 0: same, 2: differences, 1: error, 64: wrong usage)",
  reportsDifferences: true,
  builder: (yargs) =>
    withSudoPasswordOption(withConnectOptions(withEnvironment(yargs)))
      .option("stat", { type: "boolean", default: false, describe: "list changed files and the summary only" })
      .option("only", { type: "string", requiresArg: true, describe: "only files whose server path matches this glob" })
      .option("out", {
        type: "string",
        requiresArg: true,
        describe: "save the plan (with the server hashes it was computed against) for gen apply --plan",
      }) as never,
  examples: [
    ["gen diff prod", "unified diffs of what apply would change on prod"],
    ["gen diff prod --out plan.json", "save the reviewed plan for `gen apply prod --plan plan.json`"],
  ],
  run: async (argv, output) => (await import("./diff-run.js")).runDiff(argv, output),
};
