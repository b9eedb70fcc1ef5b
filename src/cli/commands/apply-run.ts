// The work of `gen apply`, loaded only when the command runs (keeps start-up small).
import { applyEvents, reportApply } from "../apply-report.js";
import { connectOptions, withSudoPassword } from "../connect-options.js";
import { loadRenderAndConnect } from "../connect-early.js";
import { printSandboxNote } from "../environment-options.js";
import type { ExitCode } from "../../errors.js";
import type { Interrupts } from "../../interrupt.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";
import type { ApplyArgs } from "./apply.js";
import { withInterrupts } from "../interrupts.js";

export function runApply(argv: ApplyArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  return withInterrupts(output, "apply", (interrupts) => applyWith(argv, output, interrupts));
}

async function applyWith(argv: ApplyArgs & GlobalOptions, output: Output, interrupts: Interrupts): Promise<ExitCode> {
  const options = await withSudoPassword(connectOptions(argv, argv.env), argv);
  // applyEnvironment closes the connections.
  const prepared = await loadRenderAndConnect(argv.env, argv, options, argv.concurrency);
  // Loaded once the connections are under way (connect-early.ts).
  const { applyEnvironment } = await import("../../apply/apply-environment.js");
  printSandboxNote(output, prepared.loaded);
  const json = argv.json ?? false;
  const input = {
    ...prepared,
    options,
    concurrency: argv.concurrency,
    forceUnlock: argv["force-unlock"],
    dryRun: argv["dry-run"],
    ...(argv.plan ? { savedPlanFile: argv.plan } : {}),
    interrupts,
    // Nothing is asked: the lock is taken with the first read, and what it read is what is applied.
    lockWhileReading: argv.yes === true,
  };
  const outcome = await applyEnvironment(input, applyEvents(output, prepared, { json, yes: argv.yes, showSecrets: argv["show-secrets"] ?? false }));
  return reportApply(output, outcome, prepared, json);
}
