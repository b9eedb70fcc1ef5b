// The work of `gen status`, loaded only when the command runs (keeps start-up small).
import { connectOptions } from "../connect-options.js";
import { loadRenderAndConnect } from "../connect-early.js";
import { printSandboxNote } from "../environment-options.js";
import { printStatus, statusJson } from "../status-report.js";
import { printResult } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";
import type { StatusArgs } from "./status.js";

/** 0: every host in sync; 2: a host drifted (gen diff's meaning); 1: a host could not be inspected. A held lock is said, not a failure. */
export async function runStatus(argv: StatusArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  const options = connectOptions(argv, argv.env);
  const prepared = await loadRenderAndConnect(argv.env, argv, options, argv.concurrency);
  try {
    if (!argv.json) printSandboxNote(output, prepared.loaded);
    const { files, manifest } = prepared.rendered;
    // Loaded once the connections are under way (connect-early.ts).
    const { inspectStatus } = await import("../../status/inspect-status.js");
    const status = await inspectStatus(prepared.loaded, files, manifest.folders, options, argv.concurrency, prepared.connections);
    if (argv.json) printResult(output, "status", statusJson(argv.env, status));
    else printStatus(output, argv.env, status);
    if (status.hosts.some((h) => h.plan.error !== undefined)) return 1;
    return status.hosts.some((h) => h.drifted) ? 2 : 0;
  } finally {
    await prepared.connections.close();
  }
}
