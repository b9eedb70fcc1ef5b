// The work of `gen apply`, loaded only when the command runs (keeps start-up small).
import { readFile } from "node:fs/promises";
import { applyHosts, refuseUnreadable } from "../../apply/apply-hosts.js";
import type { HostApplyResult } from "../../apply/apply-plan.js";
import { GenError } from "../../errors.js";
import { inspectEnvironment } from "../../plan/inspect-environment.js";
import { planNeedsApply, summarizePlan, unrecordedEntries } from "../../plan/plan-changes.js";
import type { Plan, PlanSummary } from "../../plan/plan-types.js";
import { parseSavedPlan, savedPlanConflicts } from "../../plan/saved-plan.js";
import { hostConnections } from "../../transport/open-transport.js";
import { runCrossChecks } from "../../validate/cross-checks.js";
import { confirm } from "../confirm.js";
import { connectOptions } from "../connect-options.js";
import { printPlanDiff } from "../diff-report.js";
import { loadAndRender, printSandboxNote, type Prepared } from "../environment-options.js";
import { printIssues, printResult, type Output } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { ApplyArgs } from "./apply.js";

export async function runApply(argv: ApplyArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  const prepared = await loadAndRender(argv.env, argv);
  printSandboxNote(output, prepared.loaded);
  return applyPrepared(prepared, argv, output);
}

/** Plan, show, confirm and apply an environment already loaded and rendered (gen apply, and gen deploy's step 3). */
export async function applyPrepared(prepared: Prepared, argv: ApplyArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  const { loaded, rendered } = prepared;
  const issues = runCrossChecks({ source: loaded.file, environment: loaded.environment, files: rendered.files, folders: rendered.manifest.folders });
  if (issues.length > 0) {
    if (argv.json) printResult(output, "apply", { environment: argv.env, outcome: "invalid", issues, hosts: [] }, prepared.redact);
    printIssues(output, issues);
    return 1;
  }
  const options = connectOptions(argv, argv.env);
  // One connection per host for the whole command: read, ask, then apply over it.
  const connections = hostConnections(loaded.environment, options);
  try {
    const inspection = await inspectEnvironment(loaded, rendered.files, rendered.manifest.folders, options, argv.concurrency, connections);
    const plan = argv.plan ? await reviewedPlan(argv.plan, prepared, inspection.plan) : inspection.plan;
    // With --json, standard output carries only the JSON result; the plan is shown on standard error.
    const planOutput = argv.json ? { out: output.err, err: output.err } : output;
    printPlanDiff(planOutput, plan, { rendered: new Map(rendered.files.map((f) => [f.path, f])), server: inspection.serverFiles, showSecrets: argv["show-secrets"] ?? false, redact: prepared.redact }, { stat: false });
    const failed = plan.hosts.filter((h) => h.error);
    if (failed.length > 0) throw new GenError(`could not inspect ${failed.map((h) => h.host).join(", ")}; nothing was applied`, { details: failed.map((h) => prepared.redact(`${h.host}: ${h.error}`)) });
    for (const host of plan.hosts) {
      if (host.lock) output.err(`${host.host}: gen's lock is held by ${host.lock}${argv["force-unlock"] ? " (it will be taken over)" : ""}`);
      const unfinished = unrecordedEntries(host);
      if (unfinished.length) output.err(`${host.host}: ${unfinished.length} file${unfinished.length === 1 ? " is" : "s are"} in place but not recorded (an interrupted apply?): their handlers run and the record is updated`);
    }
    refuseUnreadable(plan, loaded.environment, argv.env);
    if (!planNeedsApply(plan)) {
      if (argv.json) printResult(output, "apply", { environment: argv.env, outcome: "nothing-to-do", summary: summarizePlan(plan), hosts: [] }, prepared.redact);
      output[argv.json ? "err" : "out"](`nothing to do: ${argv.env} is in sync`);
      return 0;
    }
    if (argv["dry-run"]) {
      if (argv.json) printResult(output, "apply", { environment: argv.env, outcome: "dry-run", summary: summarizePlan(plan), plan, hosts: [] }, prepared.redact);
      return 0;
    }
    if (!argv.yes) {
      if (!process.stdin.isTTY) throw new GenError("refusing to apply without confirmation: no terminal to ask on; pass --yes to apply non-interactively");
      if (!(await confirm(`Apply these changes to ${argv.env}?`))) {
        if (argv.json) printResult(output, "apply", { environment: argv.env, outcome: "declined", summary: summarizePlan(plan), hosts: [] }, prepared.redact);
        else output.out("nothing applied");
        return 1;
      }
    }
    const { files, manifest } = prepared.rendered;
    const input = { envName: argv.env, environment: loaded.environment, plan, rendered: files, folders: manifest.folders, forceUnlock: argv["force-unlock"], concurrency: argv.concurrency };
    const results = await applyHosts(input, options, connections, (line) => output.err(line));
    return reportResults(output, results, argv.json ?? false, prepared, summarizePlan(plan));
  } finally {
    await connections.close();
  }
}


async function reviewedPlan(file: string, prepared: Prepared, now: Plan): Promise<Plan> {
  const saved = parseSavedPlan(await readFile(file, "utf8"), file);
  const conflicts = savedPlanConflicts(saved, prepared.rendered.files, now);
  if (saved.plan.environment !== prepared.loaded.name) conflicts.unshift(`the plan is for environment ${saved.plan.environment}`);
  if (conflicts.length > 0) throw new GenError(`${file} no longer matches; nothing was applied`, { details: [...conflicts, `Run gen diff ${prepared.loaded.name} --out ${file} again and review it.`] });
  return saved.plan;
}

function reportResults(output: Output, results: HostApplyResult[], json: boolean, prepared: Prepared, summary: PlanSummary): 0 | 1 {
  if (json) {
    const hosts = results.map((r) => ({ ...r, error: r.error?.message, errorDetails: r.error?.details }));
    printResult(output, "apply", { environment: prepared.loaded.name, outcome: results.some((r) => r.outcome === "failed") ? "failed" : "applied", summary, hosts }, prepared.redact);
  }
  for (const r of results) {
    if (json) break;
    if (r.lockReplaced) output.err(`${r.host}: took over the lock of ${r.lockReplaced}`);
    for (const path of r.recovered) output.err(`${r.host}: removed leftover of an interrupted apply: ${path}`);
    if (r.outcome === "failed") {
      output.err(`apply failed on ${r.host}: ${prepared.redact(r.error?.message ?? "unknown error")}`);
      for (const line of r.error?.details ?? []) output.err(`  ${prepared.redact(line)}`);
      continue;
    }
    const ran = prepared.loaded.environment.server.transport === "local" ? "recorded (sandbox, not run)" : "ran";
    const finished = r.finished?.length ? `; finished ${r.finished.length} file${r.finished.length === 1 ? "" : "s"} of an interrupted apply` : "";
    output.out(`${r.host}: ${r.outcome === "unchanged" ? "nothing to do" : `applied ${r.changed.length} file${r.changed.length === 1 ? "" : "s"}${finished}`}${r.handlers.length ? `; ${ran} ${r.handlers.join("; ")}` : ""}`);
  }
  return results.some((r) => r.outcome === "failed") ? 1 : 0;
}
