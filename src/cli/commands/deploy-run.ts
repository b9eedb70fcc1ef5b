// The work of `gen deploy`, loaded only when the command runs (keeps start-up small).
import { resolve } from "node:path";
import { GenError } from "../../errors.js";
import { InterruptedError, type Interrupts } from "../../interrupt.js";
import { withInterrupts } from "../interrupts.js";
import { applyEnvironment, refuseDrift } from "../../apply/apply-environment.js";
import { deployHosts } from "../../release/deploy-hosts.js";
import { TOTAL_STEPS } from "../../release/deploy-release.js";
import { listBuildOutput, runLocalCommand } from "../../release/frontend.js";
import { archiveCommit, checkBranchName, readCommit } from "../../release/local-checks.js";
import { connectOptions } from "../connect-options.js";
import { stepReporter } from "../deploy-report.js";
import { applyEvents, reportApply } from "../apply-report.js";
import { loadAndRender, printSandboxNote } from "../environment-options.js";
import { printCleanupWarnings, printResult } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";
import type { DeployArgs } from "./deploy.js";

export function runDeploy(argv: DeployArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  return withInterrupts(output, "deploy", (interrupts) => deployWith(argv, output, interrupts));
}

async function deployWith(argv: DeployArgs & GlobalOptions, output: Output, interrupts: Interrupts): Promise<ExitCode> {
  const prepared = await loadAndRender(argv.env, argv);
  printSandboxNote(output, prepared.loaded);
  const env = prepared.loaded.environment;
  const branch = argv.branch ?? env.release.branch;
  await checkBranchName(branch);
  // Everything local comes first: a wrong branch or a failed build must not have touched the server.
  const repoDir = resolve(argv.repo);
  output.err(`[1/${TOTAL_STEPS}] local checks in ${repoDir}`);
  const commit = await readCommit(repoDir, branch);
  output.err(`    ${commit.hash.slice(0, 12)} ${commit.title} (${commit.author}, ${commit.date})`);
  const frontendDir = resolve(repoDir, env.release.frontend.output);
  if (argv["skip-front-build"]) {
    output.err(`[2/${TOTAL_STEPS}] front-end build skipped (--skip-front-build)`);
  } else {
    output.err(`[2/${TOTAL_STEPS}] front-end build in ${env.release.frontend.dir}`);
    for (const command of env.release.frontend.build) {
      output.err(`    $ ${command.join(" ")}`);
      // A carriage return (a progress line) ends a line here, as in the release's own output.
      await runLocalCommand(command, resolve(repoDir, env.release.frontend.dir), (chunk) =>
        output.err(chunk.replace(/\r\n?/g, "\n").replace(/^/gm, "      ").trimEnd()),
      );
    }
  }
  const files = await listBuildOutput(frontendDir);
  const sourceKind = argv.source ?? env.release.source;
  const source =
    sourceKind === "archive"
      ? { kind: "archive" as const, branch, commit: commit.hash, archive: await archiveCommit(repoDir, commit.hash, env.paths.backendDir) }
      : { kind: "clone" as const, branch, commit: commit.hash };
  const options = connectOptions(argv, argv.env);
  output.err(`[3/${TOTAL_STEPS}] configuration of ${argv.env}`);
  // apply shows the plan and asks as gen apply does, or says there is nothing to do; with --json its output goes to
  // standard error so that standard output is deploy's JSON alone.
  const applyOutput = argv.json ? output.onStandardError() : output;
  const events = applyEvents(applyOutput, prepared, { json: false, yes: argv.yes, showSecrets: argv["show-secrets"] ?? false });
  const applyInput = { ...prepared, options, concurrency: argv.concurrency, forceUnlock: argv["force-unlock"], dryRun: false, interrupts };
  if (argv.apply) {
    const applied = reportApply(applyOutput, await applyEnvironment(applyInput, events), prepared, false);
    if (interrupts.signal)
      throw new InterruptedError(interrupts.signal, `interrupted (${interrupts.signal}) in the configuration step (above); nothing was deployed`);
    if (applied !== 0) throw new GenError("applying the configuration failed or was declined; nothing was deployed");
  } else {
    await refuseDrift(applyInput, events.planned);
  }
  const report = stepReporter(output);
  const deployInput = {
    environment: env,
    commit,
    source,
    frontend: { dir: frontendDir, files },
    restartCelery: !argv["celery-no-restart"],
    forceUnlock: argv["force-unlock"],
  };
  const results = await deployHosts(deployInput, options, argv.concurrency, report, interrupts);
  if (argv.json) {
    const hosts = results.map((r) => ({ ...r, error: r.error?.message, errorDetails: r.error?.details }));
    printResult(output, "deploy", { environment: argv.env, branch, commit: { hash: commit.hash, title: commit.title }, hosts });
  }
  for (const r of results) {
    if (argv.json) break;
    // "previous" is what gen rollback would go to now: the newest good release before this one, never pruned.
    if (r.outcome === "deployed")
      output.out(
        `${r.host}: release ${r.release} is live${r.previousGood ? ` (previous: ${r.previousGood})` : ""}${r.removedReleases.length ? `; removed ${r.removedReleases.join(", ")}` : ""}${(r.keptInUse ?? []).map((k) => `; kept ${k.id} (in use by pid ${k.pids.join(", ")})`).join("")}${r.interrupted ? ` (${r.interrupted} came once current had switched: finished${r.steps.some((s) => s.step === 9) ? "" : "; old releases not pruned"})` : ""}`,
      );
    // Stopped before the switch: the release removed, the one live before still is, the lock released.
    else if (r.outcome === "interrupted") {
      output.err(`${r.host}: deploy ${r.error?.message ?? `interrupted (${r.interrupted})`}`);
      for (const line of r.error?.details ?? []) output.err(`  ${line}`);
    } else {
      output.err(
        `deploy failed on ${r.host}${r.failedStep ? ` at step ${r.failedStep}` : ""}: ${r.error?.message ?? ""}${r.outcome === "rolled-back" ? `; switched back to ${r.previous}` : ""}`,
      );
      for (const line of r.error?.details ?? []) output.err(`  ${line}`);
    }
    printCleanupWarnings(output, r.host, r.warnings);
  }
  // A lock or log left behind fails the command, as Terraform fails when it cannot release its state lock.
  return results.every((r) => r.outcome === "deployed" && !r.warnings?.length) ? 0 : 1;
}
