import type { GenCommand } from "../command.js";
import { COMPLETION_SCRIPT } from "../completion.js";

export const completionCommand: GenCommand<object> = {
  command: "completion",
  describe: "Print the bash completion script: commands, options, their choices and environment names (gen completion >> ~/.bashrc)",
  builder: (yargs) => yargs as never,
  examples: [["npx gen completion >> ~/.bashrc", "complete gen, node_modules/.bin/gen and npx gen in new shells"]],
  async run(_argv, output) {
    output.verbatim(COMPLETION_SCRIPT.trimEnd());
    return 0;
  },
};
