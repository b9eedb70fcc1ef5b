// One shell script reads everything a plan needs from a host in a single round trip: type, mode, owner and
// sha256 of every managed file, the prepared folders, gen's lock and record. Two processes do all the files
// (GNU find for the metadata, one sha256sum for the hashes), and no content is sent: time and memory do not
// grow with the size of unchanged files. Only differing files are fetched afterwards.
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";

export type ProbeResult =
  | { status: "ok"; type: string; mode: string; owner: string; group: string; sha256?: string; linkTarget?: string }
  | { status: "missing" }
  | { status: "unreadable"; reason: string };

/** The script; server paths are mapped under `root`. Paths come from the schema: absolute, no | or newline. */
export function probeScript(root: string, paths: string[], lockDir: string, recordPath: string): string {
  const local = paths.map((p) => quoteArg(pathUnderRoot(root, p))).join(" ");
  const cat = (marker: string, path: string) => `echo '==${marker}=='; cat -- ${quoteArg(pathUnderRoot(root, path))} 2>/dev/null; echo; echo '==end=='`;
  return [
    "export LC_ALL=C",
    paths.length ? `find ${local} -maxdepth 0 -printf '%p|%y|%m|%u|%g|%l\\n' 2>&1` : ":",
    "echo '==hashes=='",
    paths.length ? `sha256sum -- ${local} 2>&1` : ":",
    "echo '==end=='",
    `[ -d ${quoteArg(pathUnderRoot(root, lockDir))} ] && echo '==locked=='`,
    cat("lock", `${lockDir}/holder.json`),
    cat("record", recordPath),
    "exit 0",
  ].join("\n");
}

export interface ProbeOutput {
  results: ProbeResult[];
  locked: boolean;
  lockHolder: string;
  record: string;
}

export function parseProbe(stdout: string, root: string, paths: string[]): ProbeOutput {
  const local = paths.map((p) => pathUnderRoot(root, p));
  const [metaText = "", hashText = ""] = [before(stdout, "==hashes=="), between(stdout, "hashes")];
  const meta = new Map<string, ProbeResult>();
  for (const line of metaText.split("\n")) {
    const found = /^find: '(.*)': (.*)$/.exec(line);
    if (found) {
      meta.set(found[1]!, /No such file|Not a directory/.test(found[2]!) ? { status: "missing" } : { status: "unreadable", reason: found[2]! });
      continue;
    }
    const [path = "", type = "", mode = "", owner = "", group = "", ...link] = line.split("|");
    if (!type) continue;
    const kind = type === "f" ? "file" : type === "d" ? "directory" : type === "l" ? "symlink" : "other";
    meta.set(path, { status: "ok", type: kind, mode: mode.padStart(4, "0"), owner, group, ...(kind === "symlink" ? { linkTarget: link.join("|") } : {}) });
  }
  const hashes = new Map<string, string>();
  const hashErrors = new Map<string, string>();
  for (const line of hashText.split("\n")) {
    const hash = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (hash) hashes.set(hash[2]!, hash[1]!);
    const error = /^sha256sum: (.*): (.*)$/.exec(line);
    if (error) hashErrors.set(error[1]!, error[2]!);
  }
  const results = local.map((path): ProbeResult => {
    const m = meta.get(path) ?? { status: "unreadable", reason: "the probe did not report it" };
    if (m.status !== "ok" || m.type !== "file") return m;
    const sha256 = hashes.get(path);
    return sha256 ? { ...m, sha256 } : { status: "unreadable", reason: hashErrors.get(path) ?? "Permission denied" };
  });
  return { results, locked: /^==locked==$/m.test(stdout), lockHolder: between(stdout, "lock"), record: between(stdout, "record") };
}

function before(stdout: string, marker: string): string {
  const at = stdout.indexOf(`${marker}\n`);
  return at < 0 ? stdout : stdout.slice(0, at);
}

function between(stdout: string, marker: string): string {
  const start = stdout.indexOf(`==${marker}==\n`);
  if (start < 0) return "";
  const from = start + marker.length + 5;
  const end = stdout.indexOf("==end==", from);
  return stdout.slice(from, end < 0 ? undefined : end).trim();
}
