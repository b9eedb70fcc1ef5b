// The work of `gen apply`, loaded only when the command runs (keeps start-up small).
import { applyEnvironment } from "../../apply/apply-environment.js";
import { applyEvents, reportApply } from "../apply-report.js";
import { connectOptions } from "../connect-options.js";
import { hostConnections, type HostConnections } from "../../transport/open-transport.js";
import { loadAndRender, printSandboxNote } from "../environment-options.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";
import type { ApplyArgs } from "./apply.js";

export async function runApply(argv: ApplyArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  const options = connectOptions(argv, argv.env);
  let connections: HostConnections | undefined;
  // The connections start once the environment is loaded: the server's side of it overlaps the render.
  const prepared = await loadAndRender(argv.env, argv, (loaded) => {
    connections = hostConnections(loaded.environment, options);
    connections.warm(argv.concurrency, { sudo: loaded.environment.server.useSudo });
  }).catch(async (error: unknown) => {
    await connections?.close();
    throw error;
  });
  printSandboxNote(output, prepared.loaded);
  const json = argv.json ?? false;
  const input = {
    ...prepared,
    options,
    connections: connections!,
    concurrency: argv.concurrency,
    forceUnlock: argv["force-unlock"],
    dryRun: argv["dry-run"],
    ...(argv.plan ? { savedPlanFile: argv.plan } : {}),
  };
  const outcome = await applyEnvironment(input, applyEvents(output, prepared, { json, yes: argv.yes, showSecrets: argv["show-secrets"] ?? false }));
  return reportApply(output, outcome, prepared, json);
}
