// logrotate configs: `logrotate -d -s <tmp state>` (debug mode is a dry run) on 0644 copies. logrotate exits 0
// on `error: ... unknown option` and on configs it ignores, so any `error:` line fails. Users and groups named
// by su/create that are missing here but exist on the server (context.users/groups) are added to private copies
// of /etc/passwd and /etc/group, bind-mounted in a private mount namespace; without one the check is not run.
// Also reported: inline comments (logrotate accepts some silently) and modes/owners that make logrotate skip the file.
// In: rendered files of kind "logrotate" + context. Out: one "logrotate" report.
// Effects: writes only in a throwaway folder.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RenderedFile } from "../../types.js";
import { inMountNamespace, namespaceSupport } from "./namespaces.js";
import type { ToolCheckContext, ToolReport, ToolRunOptions } from "./tool-report.js";
import {
  basenameOf,
  childEnv,
  describeExit,
  envOf,
  findExecutable,
  isRoot,
  missingBinary,
  notRun,
  outputLines,
  report,
  runCommand,
  timeoutOf,
  withTempDir,
} from "./tool-runner.js";

const SCRIPT_START = /^\s*(prerotate|postrotate|firstaction|lastaction|preremove)\s*$/;
/** Stub accounts' ids. A non-root user's namespace maps only id 0, and logrotate switches euid for `su` even with -d. */
const stubIdBase = () => (isRoot() ? 20000 : 0);

export async function checkLogrotate(files: RenderedFile[], context: ToolCheckContext, options: ToolRunOptions = {}): Promise<ToolReport> {
  const paths = files.map((file) => file.path);
  if (files.length === 0) return notRun("logrotate", [], "no logrotate configs");
  const logrotate = await findExecutable("logrotate", envOf(options));
  if (logrotate === undefined) return missingBinary("logrotate", paths, "logrotate", "logrotate");
  const stubs = await missingAccounts(files, context);
  const support = stubs.users.length + stubs.groups.length > 0 ? await namespaceSupport(options) : {};
  if (stubs.users.length + stubs.groups.length > 0 && support.mount === undefined) {
    const names = [...stubs.users, ...stubs.groups].join(", ");
    return notRun(
      "logrotate",
      paths,
      `su/create name ${names}, which do not exist here and cannot be stubbed without a private mount namespace (unshare failed)`,
    );
  }
  return withTempDir("logrotate", options, async (dir) => {
    const copies = files.map((file, index) => ({ file, copy: join(dir, `${index}-${basenameOf(file.path)}`) }));
    // logrotate ignores group/world-writable configs (exit 0): test the content at 0644, the rendered mode separately.
    await Promise.all(copies.map(({ file, copy }) => writeFile(copy, file.content, { mode: 0o644 })));
    let argv = [logrotate, "-d", "-s", join(dir, "status"), ...copies.map(({ copy }) => copy)];
    if (stubs.users.length + stubs.groups.length > 0) argv = inMountNamespace(support, await accountFiles(dir, stubs), argv);
    const output = await runCommand(argv[0]!, argv.slice(1), { env: childEnv(options, dir), timeoutMs: timeoutOf(options) });
    if (argv[0] !== logrotate && output.exitCode === 125) {
      return notRun("logrotate", paths, `could not bind-mount the stub accounts: ${output.stderr.trim()}`);
    }
    const lines = outputLines(`${output.stdout}\n${output.stderr}`, [...copies.map(({ file, copy }): [string, string] => [copy, file.path]), [dir, "<tmp>"]]);
    const errors = lines.filter((line) => line.startsWith("error:"));
    if (output.exitCode !== 0 && errors.length === 0) errors.push(lines.at(-1) ?? describeExit("logrotate", output));
    return report("logrotate", paths, [...errors, ...files.flatMap(staticProblems)]);
  });
}

/** `#` starts a comment only at the start of a line; after `rotate 5` it is an error, after `missingok` it is silently ignored. */
function staticProblems(file: RenderedFile): string[] {
  const problems: string[] = [];
  let inScript = false;
  file.content.split("\n").forEach((line, index) => {
    if (inScript) inScript = !/^\s*endscript\s*$/.test(line);
    else if (SCRIPT_START.test(line)) inScript = true;
    else if (/^\s*[^#\s][^#]*#/.test(line))
      problems.push(`${file.path}:${index + 1}: inline comment: logrotate does not treat '#' after a directive as a comment`);
  });
  const mode = Number.parseInt(file.mode, 8);
  if (Number.isNaN(mode) || (mode & 0o022) !== 0)
    problems.push(`${file.path}: mode ${file.mode}: logrotate ignores configs writable by group or others (use 0644)`);
  if (file.owner !== "root") problems.push(`${file.path}: owner ${file.owner}: logrotate (run as root) ignores configs not owned by root`);
  return problems;
}

interface Accounts {
  users: string[];
  groups: string[];
}

/** Names used by su/create/createolddir that are missing here but exist on the server; unknown ones are left to logrotate to report. */
async function missingAccounts(files: RenderedFile[], context: ToolCheckContext): Promise<Accounts> {
  const named: Accounts = { users: [], groups: [] };
  for (const file of files) {
    for (const match of file.content.matchAll(/^\s*(su|create|createolddir)\b(.*)$/gm)) {
      const words = match[2]!
        .trim()
        .split(/\s+/)
        .filter((word) => word !== "");
      const [user, group] = match[1] === "su" ? words : words.filter((word, i) => !(i === 0 && /^[0-7]{3,4}$/.test(word)));
      if (user !== undefined) named.users.push(user);
      if (group !== undefined) named.groups.push(group);
    }
  }
  const [localUsers, localGroups] = await Promise.all([accountNames("/etc/passwd"), accountNames("/etc/group")]);
  const stub = (names: string[], local: Set<string>, server: string[]) =>
    [...new Set(names)].filter((name) => !local.has(name) && server.includes(name) && /^[a-z_][a-z0-9_.-]*\$?$/i.test(name));
  return { users: stub(named.users, localUsers, context.users), groups: stub(named.groups, localGroups, context.groups) };
}

async function accountNames(path: string): Promise<Set<string>> {
  const text = await readFile(path, "utf8").catch(() => "");
  return new Set(
    text
      .split("\n")
      .map((line) => line.split(":")[0]!)
      .filter((name) => name !== ""),
  );
}

/** Private passwd/group copies with the stubs appended; returns the bind mounts. */
async function accountFiles(dir: string, stubs: Accounts): Promise<Array<[string, string]>> {
  const [passwd, group] = await Promise.all([readFile("/etc/passwd", "utf8"), readFile("/etc/group", "utf8")]);
  const base = stubIdBase();
  const id = (index: number) => (base === 0 ? 0 : base + index);
  const gid = (name: string) => (stubs.groups.includes(name) ? id(stubs.groups.indexOf(name)) : base === 0 ? 0 : 65534);
  const users = stubs.users.map((name, i) => `${name}:x:${id(i)}:${gid(name)}::/nonexistent:/usr/sbin/nologin\n`);
  const groups = stubs.groups.map((name, i) => `${name}:x:${id(i)}:\n`);
  const withNewline = (text: string) => (text === "" || text.endsWith("\n") ? text : `${text}\n`);
  await Promise.all([
    writeFile(join(dir, "passwd"), withNewline(passwd) + users.join(""), { mode: 0o644 }),
    writeFile(join(dir, "group"), withNewline(group) + groups.join(""), { mode: 0o644 }),
  ]);
  return [
    [join(dir, "passwd"), "/etc/passwd"],
    [join(dir, "group"), "/etc/group"],
  ];
}
