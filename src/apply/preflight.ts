// Preflight: everything that would make the apply fail half-way is looked for first, in one round trip,
// and every problem is reported at once before anything on the server changes.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import type { HostPlan, PlanEntry } from "../plan/plan-types.js";
import type { FileKind } from "../types.js";
import { CHECK_TOOLS } from "./check-staged.js";
import { linkProblems, safeFolderLines } from "../server/link-safe.js";
import { GenError } from "../errors.js";
import type { Step } from "../transport/transport.js";
import { outputLines, sudoRefusedHint, type ServerShell, type StepOutput } from "../server/server-shell.js";

const UNIT_DIRS = ["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];

export function changedEntries(host: HostPlan): PlanEntry[] {
  return host.entries.filter((e) => e.action === "create" || e.action === "change");
}

export function preflightScript(shell: ServerShell, env: Environment, host: HostPlan): string {
  const changed = changedEntries(host);
  const users = new Set([...changed.map((e) => e.desired.owner), ...host.folders.map((f) => f.owner)]);
  const groups = new Set([...changed.map((e) => e.desired.group), ...host.folders.map((f) => f.group)]);
  const tools = new Set(changed.map((e) => (CHECK_TOOLS as Partial<Record<FileKind, string>>)[e.kind as FileKind]).filter((t): t is string => t !== undefined));
  const executables = [env.server.systemctl, ...(changed.some((e) => e.kind === "nginx-site" || e.kind === "symlink") ? [env.server.nginxTest[0]!] : [])];
  // Everything apply changes as root: the folders it fixes, the folders of the files it installs, its state folder.
  const links = linkProblems(shell, [
    ...host.folders.filter((f) => f.action !== "unchanged").map((f) => f.path),
    ...changed.map((e) => posix.dirname(e.path)),
    env.server.stateDir,
  ]);
  // The sandbox records owners and service commands instead of using them: users, groups and units need not exist.
  if (shell.sandbox) return [...toolChecks(shell, tools), ...certificateChecks(shell, env, changed), ...links].join("\n");
  const lines = [
    ...[...users].map((u) => `getent passwd ${shell.quote(u)} >/dev/null || echo ${shell.quote(`PROBLEM user ${u} does not exist: create it first (adduser ${u})`)}`),
    ...[...groups].map((g) => `getent group ${shell.quote(g)} >/dev/null || echo ${shell.quote(`PROBLEM group ${g} does not exist: create it first (addgroup ${g})`)}`),
    ...toolChecks(shell, tools),
    ...executables.map((x) => `[ -x ${shell.quote(x)} ] || echo ${shell.quote(`PROBLEM ${x} is missing or not executable`)}`),
    ...env.server.systemServices.map((service) => unitCheck(shell, `${service}.service`)),
    ...certificateChecks(shell, env, changed),
    ...foreignFolders(shell, host, changed),
    ...links,
  ];
  return lines.join("\n");
}

function toolChecks(shell: ServerShell, tools: Set<string>): string[] {
  return [...tools].map((t) => `command -v ${shell.quote(t)} >/dev/null || echo ${shell.quote(`PROBLEM ${t} is not installed: gen checks files with it before they go in place`)}`);
}

/**
 * apply installs files as root only into root's folders: in a folder another user owns, that user could swap
 * the staged file for a link between two of apply's steps. Folders the plan makes root's are fine.
 */
function foreignFolders(shell: ServerShell, host: HostPlan, changed: PlanEntry[]): string[] {
  const madeRoots = new Set(host.folders.filter((f) => f.owner === "root").map((f) => f.path));
  const dirs = [...new Set(changed.map((e) => posix.dirname(e.path)))].filter((d) => !madeRoots.has(d));
  return dirs.map((d) => {
    const files = changed.filter((e) => posix.dirname(e.path) === d).map((e) => e.path).join(", ");
    const problem = `PROBLEM ${d} belongs to another user than root, and apply installs ${files} there as root: that user could swap the file for a link. Make ${d} root's (its files keep their owner) or put the file elsewhere`;
    return `if [ "$(id -u)" = 0 ] && [ -d ${shell.path(d)} ] && [ "$(stat -c %u ${shell.path(d)})" != 0 ]; then echo ${shell.quote(problem)}; fi`;
  });
}

function unitCheck(shell: ServerShell, unit: string): string {
  const tests = UNIT_DIRS.map((dir) => `[ -e ${shell.path(`${dir}/${unit}`)} ]`).join(" || ");
  return `{ ${tests}; } || echo ${shell.quote(`PROBLEM unit ${unit} is not installed (declared in server.systemServices): install it first`)}`;
}

function certificateChecks(shell: ServerShell, env: Environment, changed: PlanEntry[]): string[] {
  if (!env.nginx.tls || !changed.some((e) => e.kind === "nginx-site")) return [];
  const hint = `obtain it first (certbot certonly --nginx -d ${env.app.domain}), or set nginx.tls: false until then`;
  return [env.nginx.certificate, env.nginx.certificateKey, env.nginx.certbotOptions, env.nginx.dhparam].map(
    (file) => `[ -e ${shell.path(file)} ] || echo ${shell.quote(`PROBLEM ${file} (named by the nginx site) is missing: ${hint}`)}`,
  );
}

/** The preflight as a step: its status is 0 only when it found no problem, so what is chained after it waits. */
export function preflightStep(shell: ServerShell, env: Environment, host: HostPlan): Step {
  return {
    name: "running the preflight checks",
    script: `found=$(\n${preflightScript(shell, env, host)}\n)\nprintf '%s\\n' "$found"\ncase "$found" in *PROBLEM*) exit ${PROBLEMS_FOUND};; esac`,
  };
}

const PROBLEMS_FOUND = 3;

/** The problems found; throws when the preflight itself could not run. */
export function preflightProblems(shell: ServerShell, run: StepOutput): string[] {
  const problems = run.stdout.split("\n").filter((l) => l.startsWith("PROBLEM ")).map((l) => l.slice("PROBLEM ".length));
  if (run.exitCode !== 0 && problems.length === 0) {
    throw new GenError(`preflight failed on ${shell.transport.describe} (exit ${run.exitCode})`, { details: [...outputLines(run), ...sudoRefusedHint(shell.sudo, run)] });
  }
  return problems;
}

/** Each folder in a subshell of its own, so the descriptor checks of one never see another's. */
export function foldersScript(shell: ServerShell, host: HostPlan): string {
  return host.folders
    .filter((f) => f.action !== "unchanged")
    .map((f) => `(\n${safeFolderLines(shell, f).join("\n")}\n) || exit $?`)
    .join("\n");
}
