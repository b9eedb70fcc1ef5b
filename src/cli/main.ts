#!/usr/bin/env node
// The gen binary: the only place that exits.
import { setFlagsFromString } from "node:v8";
import { hideBin } from "yargs/helpers";
import { reportExecRequestsAtExit } from "../transport/exec-count.js";
import { runCli } from "./run-cli.js";

// V8 doubles its young generation (up to 2 x 16 MB) each time the bytes surviving its collections add up to its
// size, which a run keeping results for thousands of files soon does: that growth, not the rendered contents, was
// most of a large diff's peak memory. The factor is read when V8 would grow the space, so setting it here, before
// any work, is in time (the semi-space size itself is fixed at start-up).
setFlagsFromString("--semi-space-growth-factor=1");
reportExecRequestsAtExit(process.env);

process.exitCode = await runCli(hideBin(process.argv));
