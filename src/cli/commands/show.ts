import { loadEnvironment } from "../../load/load-environment.js";
import { loadYaml } from "../../load/yaml.js";
import type { Environment } from "../../../schema/index.js";
import type { GenCommand } from "../command.js";
import { project, withEnvironment } from "../environment-options.js";
import { JSON_VERSION } from "../report.js";

export const showCommand: GenCommand<{ env: string }> = {
  command: "show [env]",
  describe: "Print the fully resolved environment (base merged, defaults applied) as YAML, or JSON with --json",
  builder: (yargs) => withEnvironment(yargs) as never,
  examples: [["gen show prod --json > environments/prod-frozen.json", "an environment that renders the same files"]],
  async run(argv, output) {
    const { environmentsDir, root } = project(argv);
    const loaded = await loadEnvironment(argv.env, { environmentsDir, projectRoot: root, secrets: false });
    // Secrets are references ({secret: NAME}) in the environment itself, so nothing here needs redacting.
    const shown = asDefinition(loaded.environment);
    // The JSON is itself an environment definition (saved as <name>.json it renders the same files), so its
    // version is the definition's own `version` field rather than a wrapper.
    if (argv.json) output.json({ version: JSON_VERSION, ...shown });
    else output.verbatim((await loadYaml()).stringify(shown));
    return 0;
  },
};

/** The resolved environment as a definition that loads back to itself: a server without hosts (the local
 * transport) resolves to `hosts: []`, which a definition may not say. */
function asDefinition(environment: Environment): Record<string, unknown> {
  if (environment.server.hosts.length > 0) return environment;
  const { hosts: _none, ...server } = environment.server;
  return { ...environment, server };
}
