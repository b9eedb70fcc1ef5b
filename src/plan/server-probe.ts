// One shell script reads everything a plan needs from a host in a single round trip: type, mode, owner and
// sha256 of every managed file, the prepared folders, gen's lock and record. File contents are not sent, so
// memory and time do not grow with the size of unchanged files; only differing files are fetched afterwards.
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";

export type ProbeResult =
  | { status: "ok"; type: string; mode: string; owner: string; group: string; sha256?: string; linkTarget?: string }
  | { status: "missing" }
  | { status: "unreadable"; reason: string };

const PROBE_FUNCTIONS = `
probe() {
  if ! s=$(LC_ALL=C stat -c '%F|%a|%U|%G' -- "$2" 2>&1); then
    case "$s" in
      *"No such file"*|*"Not a directory"*) printf '%s|missing\\n' "$1" ;;
      *) printf '%s|unreadable|%s\\n' "$1" "$(printf '%s' "$s" | tr '\\n|' '  ')" ;;
    esac
    return
  fi
  case "$s" in
    "symbolic link|"*) printf '%s|ok|%s|-|%s\\n' "$1" "$s" "$(readlink -- "$2")" ;;
    "regular file|"*|"regular empty file|"*)
      if h=$(sha256sum -- "$2" 2>&1); then printf '%s|ok|%s|%s|\\n' "$1" "$s" "\${h%% *}"
      else printf '%s|unreadable|%s\\n' "$1" "$(printf '%s' "$h" | tr '\\n|' '  ')"; fi ;;
    *) printf '%s|ok|%s|-|\\n' "$1" "$s" ;;
  esac
}
`;

/** The script: `probe <index> <path>` per path, then the lock holder and the record between markers. */
export function probeScript(root: string, paths: string[], lockHolderPath: string, recordPath: string): string {
  const lines = paths.map((path, i) => `probe ${i} ${quoteArg(pathUnderRoot(root, path))}`);
  const cat = (marker: string, path: string) => `echo '==${marker}=='; cat -- ${quoteArg(pathUnderRoot(root, path))} 2>/dev/null; echo; echo '==end=='`;
  return [PROBE_FUNCTIONS, ...lines, `[ -d ${quoteArg(pathUnderRoot(root, lockHolderPath.replace(/\/holder\.json$/, "")))} ] && echo '==locked=='`, cat("lock", lockHolderPath), cat("record", recordPath)].join("\n");
}

export interface ProbeOutput {
  results: ProbeResult[];
  locked: boolean;
  lockHolder: string;
  record: string;
}

export function parseProbe(stdout: string, count: number): ProbeOutput {
  const results: ProbeResult[] = Array.from({ length: count }, () => ({ status: "unreadable", reason: "no answer from the probe" }));
  for (const line of stdout.split("\n")) {
    const match = /^(\d+)\|(ok|missing|unreadable)\|?(.*)$/.exec(line);
    if (!match) continue;
    const index = Number(match[1]);
    if (index >= count) continue;
    const [, , status, rest = ""] = match;
    if (status === "missing") results[index] = { status: "missing" };
    else if (status === "unreadable") results[index] = { status: "unreadable", reason: rest.trim() || "permission denied" };
    else results[index] = parseOk(rest);
  }
  return { results, locked: /^==locked==$/m.test(stdout), lockHolder: between(stdout, "lock"), record: between(stdout, "record") };
}

function parseOk(rest: string): ProbeResult {
  const [typeText = "", mode = "", owner = "", group = "", hash = "-", ...link] = rest.split("|");
  const type = typeText === "symbolic link" ? "symlink" : typeText.startsWith("regular") ? "file" : typeText === "directory" ? "directory" : "other";
  return {
    status: "ok",
    type,
    mode: mode.padStart(4, "0"),
    owner,
    group,
    ...(hash !== "-" && hash !== "" ? { sha256: hash } : {}),
    ...(type === "symlink" ? { linkTarget: link.join("|") } : {}),
  };
}

function between(stdout: string, marker: string): string {
  const start = stdout.indexOf(`==${marker}==\n`);
  if (start < 0) return "";
  const from = start + marker.length + 5;
  const end = stdout.indexOf("\n==end==", from);
  return stdout.slice(from, end < 0 ? undefined : end).trim();
}
