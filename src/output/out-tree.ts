// Whether out/<env> already holds exactly what a render would write there, read without following any link: every
// expected file a regular file with the same bytes and mode, every link the same target, every folder a folder, and
// nothing else. Anything else (a missing or extra entry, a link in place of a file or folder, another mode, an
// unreadable entry) means no, and the caller writes the folder anew.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";

export type OutEntry = { kind: "file"; content: string; mode: number } | { kind: "symlink"; target: string } | { kind: "folder" };

/** `expected`: by path relative to `dir` (as path.join writes them), the folders on the way included. */
export function holdsExactly(dir: string, expected: ReadonlyMap<string, OutEntry>): boolean {
  try {
    // What a rewrite creates: a file with its mode less the umask, a folder with 0777 less the umask.
    const umask = process.umask();
    const isFolder = (path: string) => {
      const stats = lstatSync(path);
      return stats.isDirectory() && (stats.mode & 0o7777) === (0o777 & ~umask);
    };
    if (!isFolder(dir)) return false;
    let seen = 0;
    const matches = (folder: string, rel: string): boolean => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
        const wanted = expected.get(path);
        seen++;
        if (wanted === undefined) return false;
        // Joined by hand: path.join's normalising was a third of this check's time, and readdir gives bare names.
        const full = `${folder}/${entry.name}`;
        if (entry.isDirectory()) {
          if (wanted.kind !== "folder" || !isFolder(full) || !matches(full, path)) return false;
        } else if (entry.isSymbolicLink()) {
          if (wanted.kind !== "symlink" || readlinkSync(full) !== wanted.target) return false;
        } else if (!entry.isFile() || wanted.kind !== "file" || !sameFile(full, wanted.content, wanted.mode & ~umask)) {
          return false;
        }
      }
      return true;
    };
    return matches(dir, "") && seen === expected.size;
  } catch {
    return false;
  }
}

/** Opened without following a link or waiting on a FIFO swapped in since the folder was listed. */
function sameFile(path: string, content: string, mode: number): boolean {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    const wanted = Buffer.from(content);
    if (!stats.isFile() || (stats.mode & 0o7777) !== mode || stats.size !== wanted.length) return false;
    const found = Buffer.alloc(wanted.length + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < found.length; length += n) n = readSync(fd, found, length, found.length - length, null);
    return length === wanted.length && found.subarray(0, length).equals(wanted);
  } finally {
    closeSync(fd);
  }
}
