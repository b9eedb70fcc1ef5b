// Sudoers drop-ins: syntax with `visudo -c -s -f` (strict), the @includedir file-name rule, owner/mode,
// and a semantic allowlist on sudo's own parse (`cvtsudoers -f json`): visudo accepts a missing comma
// between two commands or an injected `ALL ALL=(ALL) NOPASSWD: ALL`, the allowlist does not.
// In: rendered files of kind "sudoers" + context. Out: one "visudo" and one "cvtsudoers" report.
// Effects: writes copies into a throwaway folder only.

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RenderedFile } from "../../types.js";
import type { ToolCheckContext, ToolReport, ToolRunOptions } from "./tool-report.js";
import {
  basenameOf,
  childEnv,
  describeExit,
  envOf,
  findExecutable,
  missingBinary,
  notRun,
  outputLines,
  report,
  runCommand,
  timeoutOf,
  withTempDir,
} from "./tool-runner.js";

interface SudoersCopy {
  file: RenderedFile;
  /** Where the content was written in the work folder. */
  copy: string;
}

export async function checkSudoers(files: RenderedFile[], context: ToolCheckContext, options: ToolRunOptions = {}): Promise<ToolReport[]> {
  const paths = files.map((file) => file.path);
  if (files.length === 0) return [notRun("visudo", [], "no sudoers files"), notRun("cvtsudoers", [], "no sudoers files")];
  const env = envOf(options);
  const [visudo, cvtsudoers] = await Promise.all([findExecutable("visudo", env), findExecutable("cvtsudoers", env)]);
  return withTempDir("sudoers", options, async (dir) => {
    const copies = await writeCopies(files, dir);
    return Promise.all([
      visudo === undefined ? missingBinary("visudo", paths, "visudo", "sudo") : runVisudo(visudo, copies, dir, options),
      cvtsudoers === undefined ? missingBinary("cvtsudoers", paths, "cvtsudoers", "sudo") : runAllowlist(cvtsudoers, copies, context, dir, options),
    ]);
  });
}

async function writeCopies(files: RenderedFile[], dir: string): Promise<SudoersCopy[]> {
  return Promise.all(
    files.map(async (file, index) => {
      const folder = join(dir, "files", String(index));
      await mkdir(folder, { recursive: true });
      const copy = join(folder, basenameOf(file.path));
      await writeFile(copy, file.content, { mode: 0o440 });
      return { file, copy };
    }),
  );
}

async function runVisudo(visudo: string, copies: SudoersCopy[], dir: string, options: ToolRunOptions): Promise<ToolReport> {
  const [perFile, skipped] = await Promise.all([
    Promise.all(copies.map((entry) => visudoProblems(visudo, entry, dir, options))),
    skippedByIncludeDir(visudo, copies, dir, options),
  ]);
  const problems = [...perFile.flat(), ...copies.flatMap(permissionProblems), ...skipped];
  return report(
    "visudo",
    copies.map((entry) => entry.file.path),
    problems,
  );
}

async function visudoProblems(visudo: string, entry: SudoersCopy, dir: string, options: ToolRunOptions): Promise<string[]> {
  const output = await runCommand(visudo, ["-c", "-s", "-f", entry.copy], { env: childEnv(options, dir), timeoutMs: timeoutOf(options) });
  const lines = outputLines(`${output.stdout}\n${output.stderr}`, [
    [entry.copy, entry.file.path],
    [dir, "<tmp>"],
  ]).filter((line) => line !== `${entry.file.path}: parsed OK`);
  if (output.exitCode === 0 && lines.length === 0) return [];
  return lines.length > 0 ? withoutRepeatedBlocks(lines) : [`${entry.file.path}: ${describeExit("visudo", output)}`];
}

/** visudo prints each syntax error twice: a "file:line:col: message" header, the line and a caret. */
function withoutRepeatedBlocks(lines: string[]): string[] {
  const blocks: string[][] = [];
  for (const line of lines) {
    if (blocks.length === 0 || /^\S+:\d+:\d+: /.test(line)) blocks.push([line]);
    else blocks.at(-1)!.push(line);
  }
  const seen = new Set<string>();
  return blocks.filter((block) => !seen.has(block.join("\n")) && seen.add(block.join("\n"))).flat();
}

/**
 * sudo's @includedir silently skips names containing '.' or ending in '~'. Checked with the real parser:
 * a throwaway main file includes the drop-ins by their server names; a drop-in visudo does not list was skipped.
 */
async function skippedByIncludeDir(visudo: string, copies: SudoersCopy[], dir: string, options: ToolRunOptions): Promise<string[]> {
  const dropIns = copies.filter((entry) => entry.file.path !== "/etc/sudoers");
  if (dropIns.length === 0) return [];
  const includeDir = join(dir, "main", "sudoers.d");
  const main = join(dir, "main", "sudoers");
  await mkdir(includeDir, { recursive: true });
  await Promise.all(dropIns.map((entry) => writeFile(join(includeDir, basenameOf(entry.file.path)), entry.file.content, { mode: 0o440 })));
  await writeFile(main, `@includedir ${includeDir}\n`, { mode: 0o440 });
  const output = await runCommand(visudo, ["-c", "-f", main], { env: childEnv(options, dir), timeoutMs: timeoutOf(options) });
  const parsed = new Set(outputLines(output.stdout).map((line) => line.replace(/: parsed OK$/, "")));
  return dropIns.flatMap((entry) => {
    const name = basenameOf(entry.file.path);
    const nameIsSkipped = name.includes(".") || name.endsWith("~");
    // When a syntax error stopped the run, the listing is incomplete: fall back to the documented rule.
    const wasSkipped = output.exitCode === 0 ? !parsed.has(join(includeDir, name)) : nameIsSkipped;
    if (!wasSkipped) return [];
    const why = nameIsSkipped ? "names containing '.' or ending in '~' are ignored" : "visudo did not list it";
    return [`${entry.file.path}: silently skipped by sudo's @includedir (${why}); use a name like "${name.replace(/[.~].*$/, "") || "gen"}"`];
  });
}

/** What `visudo -c -O -P` demands of the installed file. */
function permissionProblems(entry: SudoersCopy): string[] {
  const { path, mode, owner } = entry.file;
  if (owner === "root" && (mode === "0440" || mode === "0400")) return [];
  return [`${path}: owner ${owner}, mode ${mode}: sudo requires owner root and mode 0440 (visudo -c -O -P)`];
}

async function runAllowlist(cvtsudoers: string, copies: SudoersCopy[], context: ToolCheckContext, dir: string, options: ToolRunOptions): Promise<ToolReport> {
  const perFile = await Promise.all(
    copies.map(async (entry) => {
      const output = await runCommand(cvtsudoers, ["-f", "json", entry.copy], { env: childEnv(options, dir), timeoutMs: timeoutOf(options) });
      if (output.exitCode !== 0) {
        // The full error (with the offending line) is in the visudo report.
        const first = outputLines(output.stderr, [
          [entry.copy, entry.file.path],
          [dir, "<tmp>"],
        ])[0];
        return [`${entry.file.path}: cvtsudoers could not parse it: ${first ?? describeExit("cvtsudoers", output)}`];
      }
      return allowlistProblems(JSON.parse(output.stdout) as SudoersJson, context).map((problem) => `${entry.file.path}: ${problem}`);
    }),
  );
  return report(
    "cvtsudoers",
    copies.map((entry) => entry.file.path),
    perFile.flat(),
  );
}

type JsonEntry = Record<string, unknown>;

interface SudoersJson {
  User_Specs?: Array<{ User_List?: JsonEntry[]; Cmnd_Specs?: Array<{ Commands?: JsonEntry[] }> }>;
  [section: string]: unknown;
}

/** The drop-in may only hold rules for `sudoersUser`, each command a literal, allowlisted command line. */
export function allowlistProblems(doc: SudoersJson, context: ToolCheckContext): string[] {
  const allowed = new Set(context.sudoersAllowedCommands);
  const problems = Object.keys(doc)
    .filter((section) => section !== "User_Specs")
    .map((section) => `unexpected section ${section} (no aliases or Defaults expected in this drop-in)`);
  for (const spec of doc.User_Specs ?? []) {
    const users = (spec.User_List ?? []).map(describeEntry);
    if (users.length !== 1 || users[0] !== context.sudoersUser) {
      problems.push(`rule for users [${users.join(", ")}], only ${context.sudoersUser} allowed`);
    }
    for (const command of (spec.Cmnd_Specs ?? []).flatMap((cmnd) => cmnd.Commands ?? [])) {
      if (typeof command.command !== "string" || command.negated === true || Object.keys(command).length !== 1) {
        problems.push(`non-literal or negated command entry ${JSON.stringify(command)}`);
      } else if (!allowed.has(command.command)) {
        problems.push(`command not in allowlist: "${command.command}"`);
      }
    }
  }
  return problems;
}

/** `{"username": "deployer"}` -> "deployer"; anything else (groups, aliases, negation) is shown as JSON. */
function describeEntry(entry: JsonEntry): string {
  const keys = Object.keys(entry);
  return keys.length === 1 && keys[0] === "username" && typeof entry.username === "string" ? entry.username : JSON.stringify(entry);
}
