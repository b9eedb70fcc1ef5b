// Prints gen status: per host the live release, the lock and the files' drift (human lines, or the JSON result).
import type { LiveRelease } from "../release/live-release.js";
import type { EnvironmentStatus, HostStatus } from "../status/inspect-status.js";
import { pc } from "./colors.js";
import type { Output, Text } from "./output.js";

export function printStatus(output: Output, env: string, status: EnvironmentStatus): void {
  for (const host of status.hosts) printHost(output, env, host);
  const drifted = status.hosts.filter((h) => h.drifted).map((h) => h.host);
  const failed = status.hosts.filter((h) => h.plan.error !== undefined).map((h) => h.host);
  if (failed.length > 0) output.err(`${env}: could not inspect ${failed.join(", ")}`);
  if (drifted.length > 0) output.out(pc.yellow(`${env}: drifted on ${drifted.join(", ")}: gen diff ${env} shows the differences, gen apply ${env} syncs them`));
  else if (failed.length === 0) output.out(pc.green(`${env}: every host in sync`));
}

function printHost(output: Output, env: string, host: HostStatus): void {
  const { plan } = host;
  const say = (text: Text) => output.out([`${host.host}: `, ...(Array.isArray(text) ? text : [text])]);
  if (plan.error !== undefined) {
    output.err(`${host.host}: could not inspect ${plan.transport}: ${plan.error}`);
    return;
  }
  say(releaseLine(host.release ?? { state: "none" }));
  say(plan.lock ? pc.yellow(`locked by ${plan.lock}`) : "not locked");
  const differing = plan.entries.filter((e) => e.action !== "unchanged");
  const folders = plan.folders.filter((f) => f.action !== "unchanged");
  if (!host.drifted) {
    say(`files in sync (${plan.entries.length} file${plan.entries.length === 1 ? "" : "s"}, ${plan.folders.length} folders)`);
    return;
  }
  const count = (action: string) => differing.filter((e) => e.action === action).length;
  const parts = [
    [count("change"), "to change"],
    [count("create"), "to create"],
    [count("unreadable"), "unreadable"],
    [folders.length, `folder${folders.length === 1 ? "" : "s"} to create or fix`],
  ] as const;
  say(
    pc.yellow(
      `files drifted: ${parts
        .filter(([n]) => n > 0)
        .map(([n, what]) => `${n} ${what}`)
        .join(", ")} (gen diff ${env})`,
    ),
  );
  for (const entry of differing) {
    const changes = entry.changes.length ? ` (${entry.changes.join(", ")})` : "";
    const edited = entry.editedOnServer ? ", edited on the server since the last apply" : "";
    output.out(`  ${entry.action} ${entry.path}${changes}${edited}${entry.reason ? `: ${entry.reason}` : ""}`);
  }
  for (const folder of folders) output.out(`  folder ${folder.action} ${folder.path}`);
}

function releaseLine(release: LiveRelease): Text {
  if (release.state === "none") return "no release is live (no current link)";
  if (release.state === "unknown") return pc.yellow(`live release unknown: ${release.reason}`);
  const d = release.deployment;
  if (!d) return `release ${release.id} is live (no deployment.json gen can read)`;
  const commit = [d.branch, d.hash?.slice(0, 12), d.title ? `"${d.title}"` : undefined].filter(Boolean).join(" ");
  return `release ${release.id} is live${commit ? `: ${commit}` : ""}${d.deployedAt ? `, deployed ${d.deployedAt}` : ""}`;
}

export function statusJson(env: string, status: EnvironmentStatus): Record<string, unknown> {
  return {
    environment: env,
    drifted: status.hosts.some((h) => h.drifted),
    hosts: status.hosts.map((host) => {
      const { plan } = host;
      if (plan.error !== undefined) return { host: host.host, transport: plan.transport, error: plan.error };
      return {
        host: host.host,
        transport: plan.transport,
        roles: plan.roles,
        release: host.release ?? { state: "none" },
        lock: plan.lock ?? null,
        drifted: host.drifted,
        files: plan.entries
          .filter((e) => e.action !== "unchanged")
          .map((e) => ({ path: e.path, action: e.action, changes: e.changes, editedOnServer: e.editedOnServer, ...(e.reason ? { reason: e.reason } : {}) })),
        folders: plan.folders.filter((f) => f.action !== "unchanged").map((f) => ({ path: f.path, action: f.action })),
        inSync: { files: plan.entries.filter((e) => e.action === "unchanged").length, folders: plan.folders.filter((f) => f.action === "unchanged").length },
      };
    }),
  };
}
