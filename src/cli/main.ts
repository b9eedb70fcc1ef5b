#!/usr/bin/env node
// The gen binary as compiled to dist/src (the package's bin is the bundle's launcher, launcher.ts): with it, the only
// place that exits.
import { main } from "./start.js";

process.exitCode = await main();
