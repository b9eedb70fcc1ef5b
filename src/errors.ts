// Expected failures are values with a message a user can act on; the CLI entry maps them to exit codes.

/** 0 success, 1 failure, 2 usage; 129, 130, 143: stopped by SIGHUP, SIGINT, SIGTERM (128 + the signal's number). */
export type ExitCode = 0 | 1 | 2 | 129 | 130 | 143;

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

/** Wrong command-line usage: exit 2. */
export class UsageError extends GenError {
  constructor(message: string, details: string[] = []) {
    super(message, { exitCode: 2, details });
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
