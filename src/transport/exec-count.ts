// How many exec requests (remote commands and sessions) this process made, and how many batches of steps it sent to
// its hosts' sessions (one batch is one round trip when a run waits for each before the next). With
// GEN_REPORT_EXEC=1 in the environment, gen prints both on standard error as it exits; the bench shows the first next
// to each time, the tests count the second.

/** What this process sent, counted: exec requests, and batches of steps. */
export const requestCounts = { execs: 0, batches: 0 };

export const EXEC_REPORT_PREFIX = "gen: exec requests: ";
export const BATCH_REPORT_PREFIX = "gen: step batches: ";

/** `print` is the CLI's standard error (output.ts), called once as the process exits. */
export function reportRequestCountsAtExit(env: NodeJS.ProcessEnv, print: (line: string) => void): void {
  if (env.GEN_REPORT_EXEC !== "1") return;
  process.on("exit", () => {
    print(`${EXEC_REPORT_PREFIX}${requestCounts.execs}`);
    print(`${BATCH_REPORT_PREFIX}${requestCounts.batches}`);
  });
}
