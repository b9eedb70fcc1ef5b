#!/usr/bin/env node
// The gen binary: the only place that exits.
import { hideBin } from "yargs/helpers";
import { runCli } from "./run-cli.js";

process.exitCode = await runCli(hideBin(process.argv));
