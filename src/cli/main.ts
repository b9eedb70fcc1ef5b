#!/usr/bin/env node
// The gen binary: the only place that exits.
import { setFlagsFromString } from "node:v8";
import { hideBin } from "yargs/helpers";
import { reportExecRequestsAtExit } from "../transport/exec-count.js";
import { runCli } from "./run-cli.js";

// V8 doubles its young generation (up to 2 x 16 MB) as objects survive collections, which a render of thousands of
// files does as it goes: that growth, not the rendered contents (about 5 MB for 5000 files), was most of a large
// diff's peak memory (+5000 files: 151 -> 125 MB locally). At its initial size collections run more often but
// copy as little; read when V8 would grow the space, so setting it here, before any work, is in time.
setFlagsFromString("--semi-space-growth-factor=1");
reportExecRequestsAtExit(process.env);

process.exitCode = await runCli(hideBin(process.argv));
