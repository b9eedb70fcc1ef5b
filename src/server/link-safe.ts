// Root never follows a link it did not make. Two layers, both in the root shell script itself: every component of a
// path is looked at with `test -L` before anything changes (preflight), and a folder whose owner or mode gen sets is
// entered once (`cd -P`, which holds it as an open descriptor would) and changed as `.` after checking that its real
// path (PWD, from getcwd) is the path gen meant: swapping the folder for a link between the check and the change only
// makes gen refuse, and swapping it for a FIFO makes the step fail at once instead of waiting.
import { posix } from "node:path";
import * as z from "zod/mini";
import { quoteArg } from "../transport/shell-quote.js";
import { parseRecords, printRecord, type Parsed } from "../transport/step-records.js";
import type { FolderSpec } from "../types.js";
import type { ServerShell } from "./server-shell.js";

/** "/a/b/c" -> ["/a", "/a/b", "/a/b/c"]. */
export function pathComponents(serverPath: string): string[] {
  const parts = posix.normalize(serverPath).split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}

export function linkRefusal(path: string): string {
  // The path may come from the server (a link found in a folder the deploy user could write): the command is quoted.
  const quoted = quoteArg(path);
  return `${path} is a symbolic link: gen does not change anything as root through a link it did not make. Replace it with a real folder (as root: rm ${quoted} && mkdir ${quoted}), or point the environment at the folder it leads to, then apply again`;
}

/** What a step prints when it refuses a link: `{"kind":"link","path":<server path>}`. */
export const LinkRecord = z.object({ kind: z.literal("link"), path: z.string() });
export type LinkRecord = z.infer<typeof LinkRecord>;

export function printLink(path: string): string {
  return printRecord({ kind: "link", path } satisfies LinkRecord);
}

/** Preflight lines: one link record for each existing component of `paths` that is a symbolic link. */
export function linkProblems(shell: ServerShell, paths: string[]): string[] {
  const components = [...new Set(paths.flatMap(pathComponents))].sort();
  return components.map((c) => `[ ! -L ${shell.path(c)} ] || ${printLink(c)}`);
}

/**
 * Creates the folder (and missing parents, as root's) without going through a link, then sets owner and mode
 * of the folder the step's shell stands in, checked to be that folder. Prints a link record and exits 3 when a
 * component is a link or the folder moved; nothing outside the path is changed.
 */
export function safeFolderLines(shell: ServerShell, folder: Pick<FolderSpec, "path" | "owner" | "group" | "mode">): string[] {
  const refuse = (c: string) => `{ ${printLink(c)}; exit 3; }`;
  const walk = pathComponents(folder.path).map(
    (c) => `if [ -L ${shell.path(c)} ]; then ${refuse(c)}; fi; [ -d ${shell.path(c)} ] || mkdir -- ${shell.path(c)} || exit 1`,
  );
  const target = shell.path(folder.path);
  return [
    ...walk,
    // Entering holds the folder as a descriptor would, and never waits: opening a FIFO swapped in for it did.
    `cd -P -- ${target} 2>/dev/null || exit 1`,
    `[ "$PWD" = ${target} ] || ${refuse(folder.path)}`,
    // A folder standing in for a server records owners instead of setting them (sandbox-transport.ts).
    `{ [ "\${GEN_OWNERS-}" = recorded ] || chown -- ${shell.quote(`${folder.owner}:${folder.group}`)} .; } && chmod -- ${shell.quote(folder.mode)} . || exit 1`,
    "cd /",
  ];
}

/** The folder step's answer: the link it refused, if any. */
export function parseFolderStep(step: string, stdout: string): Parsed<{ link?: string }> {
  const parsed = parseRecords(step, stdout, LinkRecord);
  if (!parsed.ok) return parsed;
  const link = parsed.value[0]?.path;
  return { ok: true, value: link === undefined ? {} : { link } };
}

/** A failed step's output as lines for the operator, a link record read as the refusal it stands for. */
export function refusalLines(lines: string[]): string[] {
  return lines.map((line) => {
    const link = line.startsWith("{") ? parseRecords("", line, LinkRecord) : undefined;
    return link?.ok && link.value[0] ? linkRefusal(link.value[0].path) : line;
  });
}
