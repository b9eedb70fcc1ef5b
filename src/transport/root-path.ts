// Maps absolute server paths onto the folder a transport treats as `/` (a test or staging prefix).

import { posix } from "node:path";
import { GenError } from "../errors.js";

/**
 * `/etc/x` under root `/tmp/r` is `/tmp/r/etc/x`. The path is normalised first, so `..` can
 * never climb out of the root.
 */
export function pathUnderRoot(root: string, serverPath: string): string {
  if (!serverPath.startsWith("/")) {
    throw new GenError(`expected an absolute server path, got ${JSON.stringify(serverPath)}`);
  }
  const normalised = posix.normalize(serverPath);
  return root === "/" ? normalised : posix.join(root, normalised);
}

/** Parses "0644" / "644" / "4755" into a number; undefined means "leave as is". */
export function parseMode(mode: string | undefined, path: string): number | undefined {
  if (mode === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(mode)) {
    throw new GenError(`${path}: mode must be octal like "0644", got ${JSON.stringify(mode)}`);
  }
  return parseInt(mode, 8);
}
