// The work of `gen deploy`, loaded only when the command runs (keeps start-up small).
import type { Interrupts } from "../../interrupt.js";
import { withInterrupts } from "../interrupts.js";
import { type DeployEvents, deployEnvironment } from "../../release/deploy-environment.js";
import { TOTAL_STEPS } from "../../release/deploy-release.js";
import { checkoutOf } from "../../release/local-checks.js";
import { connectOptions, withSudoPassword } from "../connect-options.js";
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
  const options = await withSudoPassword(connectOptions(argv, argv.env), argv);
  const prepared = await loadAndRender(argv.env, argv);
  printSandboxNote(output, prepared.loaded);
  // apply shows the plan and asks as gen apply does, or says there is nothing to do; with --json its output goes to
  // standard error so that standard output is deploy's JSON alone.
  const applyOutput = argv.json ? output.onStandardError() : output;
  const events: DeployEvents = {
    step: (number, title) => output.err(`[${number}/${TOTAL_STEPS}] ${title}`),
    detail: (line) => output.err(`    ${line}`),
    // A carriage return (a progress line) ends a line here, as in the release's own output.
    buildOutput: (chunk) => output.err(chunk.replace(/\r\n?/g, "\n").replace(/^/gm, "      ").trimEnd()),
    apply: applyEvents(applyOutput, prepared, { json: false, yes: argv.yes, showSecrets: argv["show-secrets"] ?? false }),
    applied: (outcome) => reportApply(applyOutput, outcome, prepared, false) === 0,
    report: stepReporter(output),
  };
  const {
    branch,
    commit,
    hosts: results,
  } = await deployEnvironment(
    {
      ...prepared,
      options,
      concurrency: argv.concurrency,
      forceUnlock: argv["force-unlock"],
      repoDir: argv.repo ?? (await checkoutOf(process.cwd())),
      ...(argv.branch ? { branch: argv.branch } : {}),
      ...(argv.source ? { source: argv.source } : {}),
      skipFrontBuild: argv["skip-front-build"] ?? false,
      allowDirty: argv["allow-dirty"] ?? false,
      restartCelery: !argv["celery-no-restart"],
      applyConfiguration: argv.apply,
      interrupts,
    },
    events,
  );
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
