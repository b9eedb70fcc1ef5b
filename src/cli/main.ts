#!/usr/bin/env node
// The gen binary: the only place that exits.
import { hideBin } from "yargs/helpers";
import { reportExecRequestsAtExit } from "../transport/exec-count.js";
import { runCli } from "./run-cli.js";

reportExecRequestsAtExit(process.env);

process.exitCode = await runCli(hideBin(process.argv));
