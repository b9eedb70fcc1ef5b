// What an apply, deploy or rollback could not do once its work was done: release gen's lock, append to its log, or
// (a deploy whose release is live) remove the old releases.
// Never swallowed: the command reports it (naming the host, the path and the cause) and exits 1, as Terraform
// does when it cannot release a state lock, because the server is not left as gen promises.
import { errorMessage, GenError } from "../errors.js";

export interface CleanupWarning {
  what: "unlock" | "log" | "prune";
  /** The server path of the lock folder, the log file or the releases folder. */
  path: string;
  message: string;
  details: string[];
}

/** Runs `work`; its failure comes back as a warning instead of an exception. */
export async function warnOnFailure(what: CleanupWarning["what"], path: string, work: () => Promise<unknown>): Promise<CleanupWarning[]> {
  try {
    await work();
    return [];
  } catch (error) {
    return [cleanupWarning(what, path, error)];
  }
}

export function cleanupWarning(what: CleanupWarning["what"], path: string, error: unknown): CleanupWarning {
  return { what, path, message: errorMessage(error), details: error instanceof GenError ? error.details : [] };
}
