// POSIX shell quoting of argv for a remote `sh -c`: every value becomes one literal word, never shell syntax.

import { GenError } from "../errors.js";

// Words made only of these characters mean the same quoted or not; "=" is left out so that
// a first word like `A=b` cannot turn into a variable assignment, "~" so it is never expanded.
const PLAIN_WORD = /^[A-Za-z0-9_/.,:+@%-]+$/;

/** One argument as a single shell word. Throws on NUL, which no argv can carry. */
export function quoteArg(value: string): string {
  if (value.includes("\0")) {
    throw new GenError(`cannot pass an argument containing a NUL byte to a remote command: ${JSON.stringify(value)}`);
  }
  if (PLAIN_WORD.test(value)) return value;
  // Inside single quotes nothing is special except the closing quote: end the quote, emit \', reopen.
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** argv joined into one command line whose words are exactly argv. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new GenError("internal error: empty command line");
  return argv.map(quoteArg).join(" ");
}
