import { loadEnvironment } from "../../load/load-environment.js";
import type { GenCommand } from "../command.js";
import { environmentsDir, withEnvironment } from "../environment-options.js";

export const showCommand: GenCommand<{ env: string }> = {
  command: "show [env]",
  describe: "Print the fully resolved environment (base merged, defaults applied) as YAML, or JSON with --json",
  builder: (yargs) => withEnvironment(yargs) as never,
  examples: [["gen show prod --json > environments/prod-frozen.json", "an environment that renders the same files"]],
  async run(argv, output) {
    const loaded = await loadEnvironment(argv.env, { environmentsDir: environmentsDir(argv), secrets: false });
    // Secrets are references ({secret: NAME}) in the environment itself, so nothing here needs redacting.
    output.out(argv.json ? JSON.stringify(loaded.environment, null, 2) : (await import("yaml")).stringify(loaded.environment));
    return 0;
  },
};
