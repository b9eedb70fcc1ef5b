// The work of `gen diff`, loaded only when the command runs (keeps start-up small).
import { writeFile } from "node:fs/promises";
import { hostDiffers, summarizePlan } from "../../plan/plan-changes.js";
import { connectOptions, withSudoPassword } from "../connect-options.js";
import { printPlanDiff } from "../diff-report.js";
import { printSandboxNote, type Prepared } from "../environment-options.js";
import { loadRenderAndConnect } from "../connect-early.js";
import type { ConnectOptions, HostConnections } from "../../transport/open-transport.js";
import { printResult } from "../report.js";
import { selectFiles } from "../select-files.js";
import { savePlan } from "../../plan/saved-plan.js";
import { UsageError, type ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";
import type { DiffArgs } from "./diff.js";

export async function runDiff(argv: DiffArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  if (argv.out && argv.only) throw new UsageError("--out saves a plan of every file; it cannot be combined with --only");
  const options = await withSudoPassword(connectOptions(argv, argv.env), argv);
  const prepared = await loadRenderAndConnect(argv.env, argv, options, argv.concurrency);
  try {
    return await diffPrepared(argv, output, prepared, options, prepared.connections);
  } finally {
    await prepared.connections.close();
  }
}

async function diffPrepared(
  argv: DiffArgs & GlobalOptions,
  output: Output,
  prepared: Prepared,
  options: ConnectOptions,
  connections: HostConnections,
): Promise<ExitCode> {
  printSandboxNote(output, prepared.loaded);
  const files = selectFiles(prepared.rendered.files, argv.only);
  // Loaded once the connections are under way (connect-early.ts).
  const { inspectEnvironment } = await import("../../plan/inspect-environment.js");
  const inspected = await inspectEnvironment(prepared.loaded, files, prepared.rendered.manifest.folders, options, argv.concurrency, connections);
  const { plan } = inspected;
  if (argv.out) await writeFile(argv.out, savePlan(plan, prepared.rendered.files));
  if (argv.json) {
    printResult(output, "diff", { ...plan, summary: summarizePlan(plan), ...(argv.out ? { savedTo: argv.out } : {}) });
  } else {
    printPlanDiff(
      output,
      plan,
      {
        rendered: new Map(files.map((f) => [f.path, f])),
        server: inspected.serverFiles,
        showSecrets: argv["show-secrets"] ?? false,
      },
      { stat: argv.stat },
    );
    if (argv.out) output.out(`plan saved to ${argv.out}: apply it with gen apply ${argv.env} --plan ${argv.out}`);
  }
  const failed = plan.hosts.filter((h) => h.error);
  for (const host of failed) output.err(`error: could not inspect ${host.host}: ${host.error ?? ""}`);
  if (failed.length > 0) return 1;
  return plan.hosts.some(hostDiffers) ? 2 : 0;
}
