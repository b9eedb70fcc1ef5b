// Shell completion: yargs completes commands and options; environment names come from the environments folder.
import { listEnvironments } from "../load/load-environment.js";
import { environmentsDir } from "./environment-options.js";

/** Commands whose first positional is an environment name. */
const TAKES_ENVIRONMENT = new Set(["render", "validate", "diff", "apply", "deploy", "releases", "rollback", "logs", "run", "show"]);

export function environmentCompletions(current: string, argv: { _: (string | number)[]; environments?: string }): string[] {
  const [command, ...positionals] = argv._.map(String);
  if (!command || !TAKES_ENVIRONMENT.has(command) || current.startsWith("-")) return [];
  // The word being completed is the environment when it is the command's first positional.
  const typed = positionals.filter((p) => p !== "");
  if (typed.length > 1 || (typed.length === 1 && typed[0] !== current)) return [];
  return listEnvironments(environmentsDir(argv)).filter((name) => name.startsWith(current));
}
