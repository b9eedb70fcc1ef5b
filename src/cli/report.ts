// All printing: issues, rendered files, tool verdicts, summaries and JSON. Commands compute; this module talks,
// through an Output (output.ts), which redacts and escapes whatever it is given.
import { pc } from "./colors.js";
import type { ToolReport } from "../validate/tools/index.js";
import type { Issue, RenderedFile } from "../types.js";
import { placeholderFor, printableContent } from "../secrets/index.js";
import type { CleanupWarning } from "../server/cleanup-warning.js";
import type { HostOutcome } from "../transport/open-transport.js";
import type { Output, Text } from "./output.js";

export type { Output } from "./output.js";

export function formatIssue(issue: Issue): Text {
  const fields = issue.fields?.length ? `${issue.fields.join(", ")}: ` : "";
  const tag = issue.severity === "error" ? pc.red("error") : pc.yellow("warning");
  return [`${issue.source}: ${fields}${issue.message} (`, tag, ")"];
}

export function printIssues(output: Output, issues: Issue[]): void {
  for (const issue of issues) output.err(formatIssue(issue));
}

/** Each file under a header; its content as it is (the placeholder render unless showSecrets), as asked for. */
export function printFiles(output: Output, files: RenderedFile[], showSecrets: boolean): void {
  for (const file of files) {
    const meta = `${file.mode} ${file.owner}:${file.group}`;
    if (file.kind === "symlink") {
      output.out(pc.bold(`==> ${file.path} -> ${file.linkTarget} <==`));
      continue;
    }
    output.out(pc.bold(`==> ${file.path} (${meta}) <==`));
    output.verbatim(printableContent(file, showSecrets));
  }
}

export function printRenderSummary(output: Output, env: string, files: RenderedFile[], outDir: string, showSecrets: boolean): void {
  const secretFiles = files.filter((f) => f.secret).length;
  const which = `${secretFiles} file${secretFiles === 1 ? "" : "s"} holding secrets`;
  const note = !secretFiles
    ? ""
    : showSecrets
      ? `; ${which} written with their values, 0600`
      : `; ${which} written with ${placeholderFor("NAME")} in place of each value (--show-secrets writes the values)`;
  output.out(`rendered ${files.length} files for ${env} into ${outDir}/${note}`);
  for (const file of files)
    output.out(`  ${file.mode} ${`${file.owner}:${file.group}`.padEnd(18)} ${file.path}${file.linkTarget ? ` -> ${file.linkTarget}` : ""}`);
}

export function printToolReports(output: Output, reports: ToolReport[]): void {
  for (const report of reports) {
    const word = { passed: "passed", failed: "FAILED", "not-run": "NOT RUN" }[report.status].padEnd(8);
    const label = report.status === "passed" ? pc.green(word) : report.status === "failed" ? pc.red(word) : pc.yellow(word);
    output.out([label, ` ${report.tool}: ${report.files.join(", ")}`]);
    for (const line of report.messages) output.out(`    ${line}`);
  }
}

/** Per kind of warning: what gen could not do, and what follows from it (none for a log line). */
const WARNED: Record<CleanupWarning["what"], { action: string; next?: (path: string) => string }> = {
  unlock: {
    action: "release gen's lock",
    next: (path) =>
      `the next apply, deploy or rollback stops at this lock: once nobody is running one, take it over with --force-unlock (or remove ${path} on the server)`,
  },
  log: { action: "append to the log" },
  prune: { action: "remove the old releases in", next: () => "the next deploy removes them again" },
};

/**
 * A lock, log line or old releases left behind once the work was done: the host, the path and the cause, and what
 * happens next.
 */
export function printCleanupWarnings(output: Output, host: string, warnings: CleanupWarning[] | undefined): void {
  for (const w of warnings ?? []) {
    const { action, next } = WARNED[w.what];
    output.err([pc.yellow("warning"), `: ${host}: could not ${action} ${w.path}: ${w.message}`]);
    for (const line of w.details) output.err(`  ${line}`);
    if (next) output.err(`  ${next(w.path)}`);
  }
}

/** The version of every --json output's shape (docs/json/<command>.schema.json); raised when a shape changes
 * in a way a reader would notice. */
export const JSON_VERSION = 1;

/** A command's --json result: `{ version, command, ...fields }`, one JSON document on standard output. */
export function printResult(output: Output, command: string, fields: Record<string, unknown>): void {
  output.json({ version: JSON_VERSION, command, ...fields });
}

/** The `hosts` of check's and doctor's JSON: each host's checks, or why they did not run. */
export function hostChecksJson<T>(outcomes: HostOutcome<T>[]): ({ host: string; checks: T } | { host: string; error: string })[] {
  return outcomes.map((o) => (o.ok ? { host: o.host.name, checks: o.value } : { host: o.host.name, error: o.error }));
}

/** For each host, why its checks did not run, or its checks as `print` writes them. */
export function printHostChecks<T>(output: Output, outcomes: HostOutcome<T>[], print: (host: string, checks: T) => void): void {
  for (const o of outcomes) {
    if (o.ok) print(o.host.name, o.value);
    else output.err(`${o.host.name}: the checks did not run: ${o.error}`);
  }
}
