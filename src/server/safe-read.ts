// Reading a server file that someone other than root may have put there (the lock's holder, files in the deploy
// user's folders, a managed file before the first apply made its folder root's), as root or as the deploy user.
// What can be planted there is a link (root would read what it leads to and show it), a FIFO or a device (the read
// never ends, and every diff and apply hangs with root's processes left behind), or a file of gigabytes. So every
// read opens without following a link and without blocking (GNU dd: iflag=nofollow,nonblock), takes only a regular
// file, and reads at most a given number of bytes; a file read whole is also reached through no link on the way.
// The shell functions (safe-read.sh beside this module) go before the lines that call them; no process but dd (and
// sha256sum) per file.
import { posix } from "node:path";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";
import { pathComponents } from "./link-safe.js";
import { programText } from "../program-text.js";
/**
 * What gen_read returns when it read nothing (dd's own failures are 1): the file is not there, or not one gen reads.
 * safe-read.sh has the same numbers.
 */
export const READ_MISSING = 40;
export const READ_LINK = 41;
export const READ_NOT_REGULAR = 42;
export const READ_DENIED = 43;

/**
 * `gen_read ROOT DIR NAME MAX [tail]`: NAME in the server folder DIR (ROOT is the transport's root, empty for "/"),
 * at most MAX bytes of it (its last MAX bytes with `tail`). DIR must be reached through no link below ROOT: its real
 * path is checked from inside it (`cd -P` sets PWD from getcwd), and NAME is then opened relative to it, so swapping
 * DIR or a folder above it for a link afterwards changes nothing. Statuses: 0 read (dd's own failure otherwise: its
 * words on stderr), READ_MISSING, READ_LINK (a link on the way, or NAME is one), READ_NOT_REGULAR, READ_DENIED (DIR
 * cannot be entered). It changes the step's folder.
 *
 * `gen_hash FILE`: `<sha256>  FILE` for a regular file that is no link, read as gen_read reads; nothing for anything
 * else; `sha256sum: FILE: <reason>` on stderr when it cannot be read, as sha256sum itself says it.
 */
export function safeReadFunctions(): string {
  return programText(import.meta.url, "./safe-read.sh");
}

/**
 * A step that prints `<sha256>  <path>` for every regular file of `paths` (server paths, under `root`), and for
 * those it cannot read `sha256sum: <path>: <reason>` on stderr, as one sha256sum of them all did. One sha256sum
 * still hashes the files whose folders only root can change (every folder from the root down is root's, no link,
 * not writable by group or others: one find says which are not): nobody can put a FIFO or a link there between the
 * shell's look and sha256sum's open. Every other file (the deploy user's home, say) is read by gen_hash.
 */
export function hashFilesScript(root: string, paths: string[]): string {
  const under = (serverPath: string) => pathUnderRoot(root, serverPath).replace(/(.)\/$/, "$1");
  const folders = (serverPath: string) => ["/", ...pathComponents(posix.dirname(serverPath))].map(under);
  const all = [...new Set(paths.flatMap(folders))].sort();
  const choose = paths.map((path) => {
    const file = quoteArg(under(path));
    const unsafe = folders(path).map((folder) => `*"$gen_nl"${quoteArg(folder)}"$gen_nl"*`);
    return `case $gen_unsafe in ${unsafe.join("|")}) gen_hash ${file} ;; *) if [ ! -L ${file} ] && [ -f ${file} ]; then set -- "$@" ${file}; fi ;; esac`;
  });
  return [
    safeReadFunctions(),
    `gen_unsafe="$gen_nl$(LC_ALL=C find ${all.map(quoteArg).join(" ")} -maxdepth 0 \\( -type l -o ! -user 0 -o -perm /022 \\) -printf '%p\\n' 2>/dev/null)$gen_nl"`,
    "set --",
    ...choose,
    `[ $# -eq 0 ] || LC_ALL=C sha256sum -- "$@"`,
    "exit 0",
  ].join("\n");
}

/** The root argument of gen_read: the transport's root, empty for a server's own "/". */
export function readRoot(root: string): string {
  return root === "/" ? "" : root.replace(/\/+$/, "");
}

/** Why a read answered with `status`, for messages (undefined: it read). */
export function readRefusal(status: number, stderr: string): string | undefined {
  switch (status) {
    case 0:
      return undefined;
    case READ_MISSING:
      return "No such file or directory";
    case READ_LINK:
      return "a symbolic link is on the way: gen does not read through a link it did not make";
    case READ_NOT_REGULAR:
      return "not a regular file (a FIFO, a device, a folder): gen reads only regular files";
    case READ_DENIED:
      return "Permission denied";
    default: {
      const said = stderr.trim().split("\n").pop() ?? "";
      return said.replace(/^dd: (failed to open|error reading) '.*?': /, "") || `the read failed (exit ${status})`;
    }
  }
}
