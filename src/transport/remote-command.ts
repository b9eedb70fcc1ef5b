// Builds the command line sent over SSH for run()/runScript(): cd, sudo -n (or -S), GEN_ROOT, then quoted argv.

import { quoteArg, quoteArgv } from "./shell-quote.js";
import { pathUnderRoot } from "./root-path.js";
import type { RunOptions } from "./transport.js";

/**
 * `root` is the transport's root prefix: "/" on a real server. Under a prefix the command sees
 * GEN_ROOT (like the local transport) and `cwd` is mapped into it.
 */
export function remoteCommand(argv: string[], options: Pick<RunOptions, "sudo" | "cwd"> & { sudoPassword?: boolean }, root: string): string {
  const words = [...(options.sudo ? sudoWords(options.sudoPassword ?? false) : []), ...(root === "/" ? [] : ["env", `GEN_ROOT=${root}`]), ...argv];
  const command = quoteArgv(words);
  if (options.cwd === undefined) return command;
  return `cd -- ${quoteArg(pathUnderRoot(root, options.cwd))} && ${command}`;
}

/** `sudo -n`, or with a password: `sudo -S` reading it from standard input, with no prompt of its own. */
export function sudoWords(password: boolean): string[] {
  return password ? ["sudo", "-S", "-p", "", "--"] : ["sudo", "-n", "--"];
}
