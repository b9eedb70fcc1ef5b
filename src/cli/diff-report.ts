// Prints a plan as unified diffs per file, mode and owner changes, folder work and the summary line.
import { createTwoFilesPatch } from "diff";
import { pc } from "./colors.js";
import { summarizePlan } from "../plan/plan-changes.js";
import type { HostPlan, Plan, PlanEntry, PlanSummary } from "../plan/plan-types.js";
import { SHOWN_SIZE_LIMIT, type ServerFile } from "../plan/server-state.js";
import { secretSafeSides } from "../secrets/index.js";
import type { RenderedFile } from "../types.js";
import type { Output, Styled } from "./output.js";

export interface DiffSources {
  rendered: Map<string, RenderedFile>;
  /** host -> path -> server file (content kept where it differs). */
  server: Map<string, Map<string, ServerFile>>;
  showSecrets: boolean;
}

export function printPlanDiff(output: Output, plan: Plan, sources: DiffSources, options: { stat: boolean }): void {
  const multiHost = plan.hosts.length > 1;
  for (const host of plan.hosts) {
    if (multiHost || host.error) output.out(pc.bold(`# ${host.host} (${host.transport})`));
    if (host.error) {
      output.out(pc.red(`  unreachable: ${host.error}`));
      continue;
    }
    if (options.stat) for (const line of hostStatLines(host)) output.out(line);
    else printHostDiff(output, host, sources);
  }
  output.out(summaryLine(summarizePlan(plan)));
}

function printHostDiff(output: Output, host: HostPlan, sources: DiffSources): void {
  for (const folder of host.folders.filter((f) => f.action !== "unchanged")) {
    const was = folder.current ? ` (now ${folder.current.type} ${folder.current.mode} ${folder.current.owner}:${folder.current.group})` : "";
    output.out(pc.cyan(`folder ${folder.path}: ${folder.action} ${folder.mode} ${folder.owner}:${folder.group}${was}`));
  }
  for (const entry of host.entries.filter((e) => e.action !== "unchanged")) {
    output.out([pc.bold(`${entry.action} ${entry.path}`), entry.editedOnServer ? pc.yellow("  (edited on the server since the last apply)") : ""]);
    for (const socket of interruptedSockets(entry))
      output.out(
        pc.yellow(
          `  restarting ${socket} interrupts traffic: the socket is closed (waiting connections reset, new ones refused) until the service it starts has finished its requests under way and started again`,
        ),
      );
    if (entry.action === "unreadable") {
      output.out(pc.yellow(`  cannot read it: ${entry.reason}`));
      continue;
    }
    for (const line of metadataLines(entry)) output.out(pc.cyan(`  ${line}`));
    if (entry.kind === "symlink" || !(entry.changes.includes("content") || entry.action === "create")) continue;
    const tooLarge = tooLargeLine(entry, sources.server.get(host.host)?.get(entry.path));
    output.out(tooLarge ? pc.yellow(tooLarge) : colorPatch(contentPatch(entry, host.host, sources)));
  }
}

/**
 * The sockets a change restarts. Unlike a service (restarted through a handover, or reloaded), a socket unit cannot
 * be restarted without closing the listening socket: the plan says so before anyone applies it.
 */
export function interruptedSockets(entry: PlanEntry): string[] {
  if (entry.action !== "change" || !(entry.changes.includes("content") || entry.changes.includes("link"))) return [];
  return entry.handlers.restart.filter((unit) => unit.endsWith(".socket"));
}

function metadataLines(entry: PlanEntry): string[] {
  const { desired, current } = entry;
  if (entry.action === "create")
    return [entry.kind === "symlink" ? `link -> ${desired.linkTarget}` : `mode ${desired.mode}, owner ${desired.owner}:${desired.group}`];
  const lines: string[] = [];
  if (entry.changes.includes("link")) lines.push(`link ${current?.linkTarget} -> ${desired.linkTarget}`);
  if (entry.changes.includes("mode")) lines.push(`mode ${current?.mode} -> ${desired.mode}`);
  if (entry.changes.includes("owner") || entry.changes.includes("group"))
    lines.push(`owner ${current?.owner}:${current?.group} -> ${desired.owner}:${desired.group}`);
  return lines;
}

/** A server file too large to show (server-state.ts, SHOWN_SIZE_LIMIT): what is known of it instead of its lines. */
function tooLargeLine(entry: PlanEntry, server: ServerFile | undefined): string | undefined {
  if (server?.status !== "ok" || !server.tooLarge) return undefined;
  const size = server.tooLarge.size === undefined ? "" : ` (${server.tooLarge.size} bytes)`;
  return `  the server's file${size} is larger than the ${SHOWN_SIZE_LIMIT / 1024 / 1024} MiB gen shows: it differs by its sha256 (${entry.current?.sha256 ?? "?"}); its content is not shown`;
}

function contentPatch(entry: PlanEntry, host: string, sources: DiffSources): string {
  const rendered = sources.rendered.get(entry.path);
  const server = sources.server.get(host)?.get(entry.path);
  let desired = rendered?.content ?? "";
  let current = server?.status === "ok" ? (server.content ?? "") : "";
  // The server's copy of a file holding secrets may hold them in any shape: only lines proven clean are shown.
  if ((entry.secret || rendered?.secret) && !sources.showSecrets) ({ desired, current } = secretSafeSides(desired, rendered?.shown ?? desired, current));
  const from = entry.action === "create" ? "/dev/null" : `server:${entry.path}`;
  const patch = createTwoFilesPatch(from, `gen:${entry.path}`, current, desired, undefined, undefined, { context: 3 });
  // The "Index:"/"===" header lines add nothing here; the ---/+++ lines name both sides.
  return patch
    .split("\n")
    .filter((l) => !l.startsWith("====="))
    .join("\n")
    .trimEnd();
}

/** The patch as one text whose lines are styled by what they are (added, removed, a hunk's header). */
function colorPatch(patch: string): (string | Styled)[] {
  return patch
    .split("\n")
    .flatMap((line, i) => [
      ...(i > 0 ? ["\n"] : []),
      line.startsWith("+") && !line.startsWith("+++")
        ? pc.green(line)
        : line.startsWith("-") && !line.startsWith("---")
          ? pc.red(line)
          : line.startsWith("@@")
            ? pc.cyan(line)
            : line,
    ]);
}

function hostStatLines(host: HostPlan): string[] {
  return host.entries
    .filter((e) => e.action !== "unchanged")
    .map(
      (e) =>
        `  ${e.action.padEnd(10)} ${e.path}${e.changes.length && e.action === "change" ? ` (${e.changes.join(", ")})` : ""}${e.editedOnServer ? " [edited on server]" : ""}${interruptedSockets(e).length ? " [interrupts traffic]" : ""}`,
    );
}

export function summaryLine(summary: PlanSummary): string {
  const parts = [`${summary.change} to change`, `${summary.create} to create`, `${summary.unchanged} unchanged`];
  if (summary.unreadable) parts.push(`${summary.unreadable} unreadable`);
  if (summary.editedOnServer) parts.push(`${summary.editedOnServer} edited on the server since the last apply`);
  if (summary.failedHosts) parts.push(`${summary.failedHosts} host${summary.failedHosts === 1 ? "" : "s"} unreachable`);
  return parts.join(", ");
}
