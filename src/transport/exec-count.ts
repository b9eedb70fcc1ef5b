// How many exec requests (remote commands and sessions) this process made. With GEN_REPORT_EXEC=1 in the
// environment, gen prints the number on standard error as it exits; the bench shows it next to each time.

export const execRequests = { count: 0 };

export const EXEC_REPORT_PREFIX = "gen: exec requests: ";

/** `print` is the CLI's standard error (output.ts), called once as the process exits. */
export function reportExecRequestsAtExit(env: NodeJS.ProcessEnv, print: (line: string) => void): void {
  if (env.GEN_REPORT_EXEC !== "1") return;
  process.on("exit", () => print(`${EXEC_REPORT_PREFIX}${execRequests.count}`));
}
