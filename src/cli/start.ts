// What the gen binary runs, as a function: main.ts calls it, and so does the bundle's launcher (bin/gen.mjs), which
// compiles the bundled CLI with a V8 code cache and needs a function to call, not a module's top-level await.
import { setFlagsFromString } from "node:v8";
import { hideBin } from "yargs/helpers";
import { reportExecRequestsAtExit } from "../transport/exec-count.js";
import { runCli } from "./run-cli.js";

/** Runs the command line and returns the exit status. */
export async function main(argv: string[] = hideBin(process.argv)): Promise<number> {
  // V8 doubles its young generation (up to 2 x 16 MB) each time the bytes surviving its collections add up to its
  // size, which a run keeping results for thousands of files soon does: that growth, not the rendered contents, was
  // most of a large diff's peak memory. The factor is read when V8 would grow the space, so setting it here, before
  // any work, is in time (the semi-space size itself is fixed at start-up).
  setFlagsFromString("--semi-space-growth-factor=1");
  reportExecRequestsAtExit(process.env);
  return runCli(argv);
}
