// Preflight: everything that would make the apply fail half-way is looked for first, in one round trip,
// and every problem is reported at once before anything on the server changes.
import { posix } from "node:path";
import * as z from "zod/mini";
import type { Environment } from "../../schema/index.js";
import type { HostPlan, PlanEntry } from "../plan/plan-types.js";
import type { AccountNames, Accounts } from "../plan/server-probe.js";
import type { FileKind } from "../types.js";
import { CHECK_TOOLS } from "./check-staged.js";
import { ROOT_FILES_TOOL } from "../server/root-files.js";
import { LinkRecord, linkProblems, linkRefusal, parseFolderStep, safeFolderLines } from "../server/link-safe.js";
import { GenError } from "../errors.js";
import { parseRecords, printRecord, type Parsed } from "../transport/step-records.js";
import { both, combine, type StepGroup, type TypedStep } from "../transport/typed-steps.js";
import type { CommandResult } from "../transport/transport.js";
import { outputLines, sudoRefusedHint, type ServerShell } from "../server/server-shell.js";

const UNIT_DIRS = ["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];

export function changedEntries(host: HostPlan): PlanEntry[] {
  return host.entries.filter((e) => e.action === "create" || e.action === "change");
}

/** One thing preflight found that would make the apply fail half-way: a record of the preflight step. */
export const Problem = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("user"), name: z.string() }),
  z.object({ kind: z.literal("group"), name: z.string() }),
  z.object({ kind: z.literal("tool"), name: z.string() }),
  z.object({ kind: z.literal("executable"), path: z.string() }),
  z.object({ kind: z.literal("unit"), name: z.string() }),
  z.object({ kind: z.literal("tls-file"), path: z.string(), domain: z.string() }),
  z.object({ kind: z.literal("foreign-folder"), path: z.string(), files: z.array(z.string()) }),
  LinkRecord,
]);
export type Problem = z.infer<typeof Problem>;

/**
 * Each check prints its problem's record when it fails (a shell line per check: no process when it passes), in two
 * halves: what any host is asked (tools, certificates, links on the way) and what only a server has (accounts, the
 * executables and units apply runs, root's folders). A folder standing in for a server (the sandbox) records owners and
 * service commands instead of using them, so it does not run the second half (serverOnly).
 */
export function preflightScripts(shell: ServerShell, env: Environment, host: HostPlan, accounts?: Accounts): { general: string; server: string } {
  const changed = changedEntries(host);
  const { users, groups } = preflightAccounts(host);
  const tools = new Set(changed.map((e) => (CHECK_TOOLS as Partial<Record<FileKind, string>>)[e.kind as FileKind]).filter((t): t is string => t !== undefined));
  // The program that stages and installs the files (src/server/root-files.ts).
  if (changed.length > 0) tools.add(ROOT_FILES_TOOL);
  const executables = [env.server.systemctl, ...(changed.some((e) => e.kind === "nginx-site" || e.kind === "symlink") ? [env.server.nginxTest[0]!] : [])];
  // Everything apply changes as root: the folders it fixes, the folders of the files it installs, its state folder.
  const links = linkProblems(shell, [
    ...host.folders.filter((f) => f.action !== "unchanged").map((f) => f.path),
    ...changed.map((e) => posix.dirname(e.path)),
    env.server.stateDir,
  ]);
  const general = [...toolChecks(shell, tools), ...certificateChecks(shell, env, changed), ...links];
  const server = [
    // A newline, for matching whole lines of a command's answer.
    "nl='\n'",
    ...accountChecks(shell, "passwd", users, accounts?.users, (name) => problem({ kind: "user", name })),
    ...accountChecks(shell, "group", groups, accounts?.groups, (name) => problem({ kind: "group", name })),
    ...executables.map((x) => `[ -x ${shell.quote(x)} ] || ${problem({ kind: "executable", path: x })}`),
    ...env.server.systemServices.map((service) => unitCheck(shell, `${service}.service`)),
    ...foreignFolders(shell, host, changed),
  ];
  return { general: general.join("\n"), server: server.join("\n") };
}

/** The users and groups preflight makes sure exist: the owners of the files to install and of the prepared folders. */
export function preflightAccounts(host: HostPlan): AccountNames {
  const changed = changedEntries(host);
  const users = new Set([...changed.map((e) => e.desired.owner), ...host.folders.map((f) => f.owner)]);
  const groups = new Set([...changed.map((e) => e.desired.group), ...host.folders.map((f) => f.group)]);
  return { users: [...users], groups: [...groups] };
}

/** The order problems are reported in, whichever half found them. */
const KINDS: Problem["kind"][] = ["user", "group", "tool", "executable", "unit", "tls-file", "foreign-folder", "link"];

const problem = (record: Problem): string => printRecord(record);

/** What the operator reads for each problem. */
export function problemMessage(p: Problem): string {
  switch (p.kind) {
    case "user":
      return `user ${p.name} does not exist: create it first (adduser ${p.name})`;
    case "group":
      return `group ${p.name} does not exist: create it first (addgroup ${p.name})`;
    case "tool":
      return p.name === ROOT_FILES_TOOL
        ? `${p.name} is not installed: gen writes, checks and installs files with it (apt-get install ${p.name})`
        : `${p.name} is not installed: gen checks files with it before they go in place`;
    case "executable":
      return `${p.path} is missing or not executable`;
    case "unit":
      return `unit ${p.name} is not installed (declared in server.systemServices): install it first`;
    case "tls-file":
      return `${p.path} (named by the nginx site) is missing: obtain it first (certbot certonly --nginx -d ${p.domain}), or set nginx.tls: false until then`;
    case "foreign-folder":
      return `${p.path} belongs to another user than root, and apply installs ${p.files.join(", ")} there as root: that user could swap the file for a link. Make ${p.path} root's (its files keep their owner) or put the file elsewhere`;
    case "link":
      return linkRefusal(p.path);
  }
}

function toolChecks(shell: ServerShell, tools: Set<string>): string[] {
  return [...tools].map((t) => `command -v ${shell.quote(t)} >/dev/null || ${problem({ kind: "tool", name: t })}`);
}

/**
 * The accounts the probe under the lock found missing (`known`: whether each exists) are problems as they are: no
 * process. Any other name is asked with one `getent` for the table (it prints the entries it found, each line
 * starting `name:`); a name missing from its answer is a problem, matched by the shell itself.
 */
function accountChecks(
  shell: ServerShell,
  table: "passwd" | "group",
  names: string[],
  known: Map<string, boolean> | undefined,
  missing: (name: string) => string,
): string[] {
  const unknown = names.filter((name) => known?.get(name) === undefined);
  const lines = names.filter((name) => known?.get(name) === false).map(missing);
  if (unknown.length === 0) return lines;
  return [
    ...lines,
    `accounts=$(getent ${table} ${unknown.map(shell.quote).join(" ")})`,
    ...unknown.map((name) => `case "$nl$accounts" in *"$nl"${shell.quote(`${name}:`)}*) ;; *) ${missing(name)} ;; esac`),
  ];
}

/**
 * apply installs files as root only into root's folders: in a folder another user owns, that user could swap
 * the staged file for a link between two of apply's steps. Folders the plan makes root's are fine. The shell's own
 * `test -O` (owned by the user it runs as, root here) looks at each existing folder: no process. It follows a link,
 * as `find` did not, but a link on the way to any of these folders is a problem of its own (linkProblems).
 */
function foreignFolders(shell: ServerShell, host: HostPlan, changed: PlanEntry[]): string[] {
  const madeRoots = new Set(host.folders.filter((f) => f.owner === "root").map((f) => f.path));
  const dirs = [...new Set(changed.map((e) => posix.dirname(e.path)))].filter((d) => !madeRoots.has(d));
  if (dirs.length === 0) return [];
  const checks = dirs.map((d) => {
    const files = changed.filter((e) => posix.dirname(e.path) === d).map((e) => e.path);
    return `  [ ! -e ${shell.path(d)} ] || [ -O ${shell.path(d)} ] || ${problem({ kind: "foreign-folder", path: d, files })}`;
  });
  // Through sudo the preflight is root's: no `id` process to ask.
  return [shell.sudo ? "if true; then" : `if [ "$(id -u)" = 0 ]; then`, ...checks, "fi"];
}

function unitCheck(shell: ServerShell, unit: string): string {
  const tests = UNIT_DIRS.map((dir) => `[ -e ${shell.path(`${dir}/${unit}`)} ]`).join(" || ");
  return `{ ${tests}; } || ${problem({ kind: "unit", name: unit })}`;
}

function certificateChecks(shell: ServerShell, env: Environment, changed: PlanEntry[]): string[] {
  if (!env.nginx.tls || !changed.some((e) => e.kind === "nginx-site")) return [];
  return [env.nginx.certificate, env.nginx.certificateKey, env.nginx.certbotOptions, env.nginx.dhparam].map(
    (file) => `[ -e ${shell.path(file)} ] || ${problem({ kind: "tls-file", path: file, domain: env.app.domain })}`,
  );
}

const PREFLIGHT = "running the preflight checks";

/**
 * The preflight as two steps that each report every problem they find (both): their status is 0 only when neither
 * found a problem, so what is chained after them waits. Its value: the problems found, in the order of their kinds; an
 * error when a half could not run.
 */
export function preflightStep(shell: ServerShell, env: Environment, host: HostPlan, accounts?: Accounts): StepGroup<Problem[]> {
  const scripts = preflightScripts(shell, env, host, accounts);
  const half = (script: string): TypedStep<Problem[]> => ({
    name: PREFLIGHT,
    script: `found=$(\n${script}\n)\n[ -z "$found" ] || { printf '%s\\n' "$found"; exit ${PROBLEMS_FOUND}; }`,
    parse: (run) => parsePreflight(shell.transport.describe, shell.sudo, run),
  });
  return combine([both(half(scripts.general), { ...half(scripts.server), serverOnly: {} })], ([[general, server]]) => ({
    ok: true,
    value: [...general, ...server].sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind)),
  }));
}

const PROBLEMS_FOUND = 3;

/**
 * The problems found (status 0: none; 3: one record each); an error value when the preflight itself could not
 * run (sudo refused) or its output is not records.
 */
export function parsePreflight(where: string, sudo: boolean, run: CommandResult): Parsed<Problem[]> {
  if (run.exitCode !== 0 && run.exitCode !== PROBLEMS_FOUND) {
    return {
      ok: false,
      error: new GenError(`preflight failed on ${where} (exit ${run.exitCode})`, { details: [...outputLines(run), ...sudoRefusedHint(sudo, run)] }),
    };
  }
  const parsed = parseRecords(`${PREFLIGHT} on ${where}`, run.stdout, Problem);
  if (parsed.ok && run.exitCode === PROBLEMS_FOUND && parsed.value.length === 0) {
    return {
      ok: false,
      error: new GenError(`${PREFLIGHT} on ${where}: it failed (exit ${run.exitCode}) without naming a problem`, { details: outputLines(run) }),
    };
  }
  return parsed;
}

/** Throws every problem the preflight found at once, as messages; nothing was changed. */
export function stopOnProblems(host: string, problems: Problem[]): void {
  if (problems.length === 0) return;
  const messages = problems.map(problemMessage);
  throw new GenError(`preflight found ${messages.length} problem${messages.length === 1 ? "" : "s"} on ${host}; nothing was changed`, { details: messages });
}

/**
 * The folders the plan creates or fixes, as one step. Each folder in a subshell of its own, so the descriptor checks of
 * one never see another's. A link on the way stops the apply, naming it.
 */
export function foldersStep(shell: ServerShell, host: HostPlan): TypedStep<void> {
  const changed = host.folders.filter((f) => f.action !== "unchanged");
  const folders = changed.map((f) => `(\n${safeFolderLines(shell, f).join("\n")}\n) || exit $?`).join("\n");
  const where = shell.transport.describe;
  return {
    name: "preparing the folders",
    script: folders,
    owners: changed.map(({ path, owner, group }) => ({ path, owner, group })),
    parse: (run) => {
      const parsed = parseFolderStep(`preparing the folders on ${where}`, run.stdout);
      if (!parsed.ok) return parsed;
      if (parsed.value.link !== undefined) return { ok: false, error: new GenError(`apply stopped on ${host.host}: ${linkRefusal(parsed.value.link)}`) };
      if (run.exitCode !== 0)
        return { ok: false, error: new GenError(`preparing the folders failed on ${where} (exit ${run.exitCode})`, { details: outputLines(run) }) };
      return { ok: true, value: undefined };
    },
  };
}
