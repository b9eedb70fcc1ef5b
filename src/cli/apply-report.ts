// How gen apply (and gen deploy's configuration step) shows an apply: the plan as diffs, notices about the hosts,
// the question, progress lines, then one line per host or the JSON result.
import type { ApplyEvents, EnvironmentApplyOutcome, HostNotice } from "../apply/apply-environment.js";
import type { HostApplyResult } from "../apply/apply-plan.js";
import { GenError, type ExitCode } from "../errors.js";
import { summarizePlan } from "../plan/plan-changes.js";
import type { PlanSummary } from "../plan/plan-types.js";
import { printPlanDiff } from "./diff-report.js";
import type { Prepared } from "./environment-options.js";
import { printCleanupWarnings, printIssues, printResult, type Output } from "./report.js";

export interface ApplyView {
  json: boolean;
  /** Apply without asking. */
  yes: boolean;
  showSecrets: boolean;
}

export function applyEvents(output: Output, prepared: Prepared, view: ApplyView): ApplyEvents {
  // With --json, standard output carries only the JSON result; the plan is shown on standard error.
  const planOutput = view.json ? output.onStandardError() : output;
  return {
    planned: (plan, server) =>
      printPlanDiff(
        planOutput,
        plan,
        { rendered: new Map(prepared.rendered.files.map((f) => [f.path, f])), server, showSecrets: view.showSecrets },
        { stat: false },
      ),
    notice: (notice) => output.err(noticeLine(notice)),
    confirm: async () => {
      if (view.yes) return true;
      if (!process.stdin.isTTY) throw new GenError("refusing to apply without confirmation: no terminal to ask on; pass --yes to apply non-interactively");
      return output.confirm(`Apply these changes to ${prepared.loaded.name}?`);
    },
    progress: (line) => output.err(line),
  };
}

function noticeLine(notice: HostNotice): string {
  if (notice.kind === "lock-held") return `${notice.host}: gen's lock is held by ${notice.holder}${notice.takeOver ? " (it will be taken over)" : ""}`;
  return `${notice.host}: ${notice.count} file${notice.count === 1 ? " is" : "s are"} in place but not recorded (an interrupted apply?): their handlers run and the record is updated`;
}

/** Prints the outcome (the JSON result with --json) and returns the exit status. */
export function reportApply(output: Output, result: EnvironmentApplyOutcome, prepared: Prepared, json: boolean): ExitCode {
  const environment = prepared.loaded.name;
  switch (result.outcome) {
    case "invalid":
      if (json) printResult(output, "apply", { environment, outcome: "invalid", issues: result.issues, hosts: [] });
      printIssues(output, result.issues);
      return 1;
    case "nothing-to-do":
      if (json) printResult(output, "apply", { environment, outcome: "nothing-to-do", summary: summarizePlan(result.plan), hosts: [] });
      output[json ? "err" : "out"](`nothing to do: ${environment} is in sync`);
      return 0;
    case "dry-run":
      if (json) printResult(output, "apply", { environment, outcome: "dry-run", summary: summarizePlan(result.plan), plan: result.plan, hosts: [] });
      return 0;
    case "declined":
      if (json) printResult(output, "apply", { environment, outcome: "declined", summary: summarizePlan(result.plan), hosts: [] });
      else output.out("nothing applied");
      return 1;
    default:
      return reportResults(output, result.hosts, json, prepared, summarizePlan(result.plan));
  }
}

function reportResults(output: Output, results: HostApplyResult[], json: boolean, prepared: Prepared, summary: PlanSummary): 0 | 1 {
  if (json) {
    const hosts = results.map((r) => ({ ...r, error: r.error?.message, errorDetails: r.error?.details }));
    const outcome = results.some((r) => r.outcome === "failed") ? "failed" : results.some((r) => r.outcome === "interrupted") ? "interrupted" : "applied";
    const interrupted = results.find((r) => r.interrupted)?.interrupted;
    printResult(output, "apply", { environment: prepared.loaded.name, outcome, summary, hosts, ...(interrupted ? { interrupted } : {}) });
  }
  for (const r of results) {
    if (json) break;
    if (r.lockReplaced) output.err(`${r.host}: took over the lock of ${r.lockReplaced}`);
    for (const path of r.recovered) output.err(`${r.host}: removed leftover of an interrupted apply: ${path}`);
    if (r.outcome === "interrupted") {
      // Stopped before any file moved, its lock released (unless a warning below says otherwise).
      output.err(`${r.host}: ${r.error?.message ?? `interrupted (${r.interrupted})`}`);
    } else if (r.outcome === "failed") {
      const during = r.interrupted ? ` (${r.interrupted} came while it was under way)` : "";
      output.err(`apply failed on ${r.host}${during}: ${r.error?.message ?? "unknown error"}`);
      for (const line of r.error?.details ?? []) output.err(`  ${line}`);
    } else {
      const finished = r.finished?.length ? `; finished ${r.finished.length} file${r.finished.length === 1 ? "" : "s"} of an interrupted apply` : "";
      // A signal that came once the install's round trip was sent: that round trip was let finish.
      const despite = r.interrupted && r.outcome === "applied" ? ` (${r.interrupted} came once the install had begun: finished)` : "";
      output.out(
        `${r.host}: ${r.outcome === "unchanged" ? "nothing to do" : `applied ${r.changed.length} file${r.changed.length === 1 ? "" : "s"}${finished}${despite}`}${r.handlers.length ? `; ran ${r.handlers.join("; ")}` : ""}${r.recorded?.length ? `; recorded (sandbox, not run) ${r.recorded.join("; ")}` : ""}`,
      );
      if (r.notStarted?.length) output.out(`${r.host}: not started until the first release (gen deploy starts them): ${r.notStarted.join(", ")}`);
    }
    printCleanupWarnings(output, r.host, r.warnings);
  }
  // A lock or log left behind fails the command, as Terraform fails when it cannot release its state lock.
  return results.some((r) => r.outcome === "failed" || r.warnings?.length) ? 1 : 0;
}
