// What the gen binary runs, as a function: main.ts calls it, and so does the bundle's launcher (launcher.ts, built as
// dist/bundle/main.js), which compiles the bundled CLI with a V8 code cache and needs a function to call.
import { hideBin } from "yargs/helpers";
import { reportRequestCountsAtExit } from "../transport/exec-count.js";
import { endBySignal } from "./interrupts.js";
import { createOutput, processSink } from "./output.js";
import { runCli } from "./run-cli.js";

/** Runs the command line and returns the exit status; a command stopped by a signal ends gen by it instead (interrupts.ts). */
export async function main(argv: string[] = hideBin(process.argv)): Promise<number> {
  reportRequestCountsAtExit(process.env, createOutput(processSink).err);
  const status = await runCli(argv);
  endBySignal();
  return status;
}
