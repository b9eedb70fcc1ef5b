#!/usr/bin/env node
// The gen binary: the only place that exits.
import { main } from "./start.js";

process.exitCode = await main();
