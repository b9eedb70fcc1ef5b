// Reading a server file that someone other than root may have put there (the lock's holder, files in the deploy
// user's folders, a managed file before the first apply made its folder root's), as root or as the deploy user.
// What can be planted there is a link (root would read what it leads to and show it), a FIFO or a device (the read
// never ends, and every diff and apply hangs with root's processes left behind), or a file of gigabytes. So every
// read opens without following a link and without blocking (GNU dd: iflag=nofollow,nonblock), takes only a regular
// file, and reads at most a given number of bytes; a file read whole is also reached through no link on the way.
// The shell function (safe-read.sh beside this module) goes before the lines that call it; no process but dd per
// file. The probe (root_files.py) reads managed files the same way, in python3.
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
 */
export function safeReadFunctions(): string {
  return programText(import.meta.url, "./safe-read.sh");
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
