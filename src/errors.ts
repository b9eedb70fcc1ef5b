// Expected failures are values with a message a user can act on; the CLI entry maps them to exit codes.

/**
 * 0 success, 1 failure, 2 wrong usage (as yargs and most CLIs); 129, 130, 143: stopped by SIGHUP, SIGINT, SIGTERM
 * (128 + the signal's number). A command whose 2 means "differences" (gen diff and gen status: Terraform's
 * -detailed-exitcode, 0 none, 1 error, 2 differences) exits 64 (sysexits' EX_USAGE) on wrong usage instead, so that
 * a script testing it for 2 never reads a mistyped option as drift (run-cli.ts).
 */
export type ExitCode = 0 | 1 | 2 | 64 | 129 | 130 | 143;

export const USAGE_EXIT_CODE = 2;
/** Wrong usage of a command whose 2 means "differences". */
export const USAGE_EXIT_CODE_BESIDE_DIFFERENCES = 64;

export class GenError extends Error {
  readonly exitCode: ExitCode;
  /** Extra lines printed after the message (one problem each). */
  readonly details: string[];
  constructor(message: string, options: { exitCode?: ExitCode; details?: string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GenError";
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? [];
  }
}

/** Wrong command-line usage, before anything was read, written or contacted: exit 2 (64 for gen diff and gen status). */
export class UsageError extends GenError {
  constructor(message: string, details: string[] = []) {
    super(message, { exitCode: USAGE_EXIT_CODE, details });
    this.name = "UsageError";
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The connection to a server dropped: whatever was under way there stopped at an unknown point. */
export class ConnectionLostError extends GenError {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.name = "ConnectionLostError";
  }
}
