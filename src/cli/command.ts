import type { Argv } from "yargs";
import type { ExitCode } from "../errors.js";
import type { GlobalOptions } from "./environment-options.js";
import type { Output } from "./report.js";

/** A command binds flags to options and calls the stages; it returns the exit code, main() exits. */
// biome-ignore lint/suspicious/noExplicitAny: the command table holds commands of every argument type
export interface GenCommand<A = any> {
  command: string;
  describe: string;
  builder: (yargs: Argv<GlobalOptions>) => Argv<A>;
  examples?: [string, string][];
  /** Exit 2 means "differences" (Terraform's -detailed-exitcode): wrong usage then exits 64, never 2. */
  reportsDifferences?: true;
  run: (argv: A & GlobalOptions, output: Output) => Promise<ExitCode>;
}
