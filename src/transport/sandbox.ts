// The sandbox: a folder on this machine stands in for a server, and what only root could do there is recorded
// instead of done. Owners (chown, install -o) go to .gen-sandbox/owners.json, which the plan reads back as the
// files' owners; service commands (systemctl, nginx -t, the release's chown) go to .gen-sandbox/commands.log.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { quoteArg } from "./shell-quote.js";

export interface Sandbox {
  /** The folder holding the records (inside the sandbox root). */
  readonly dir: string;
  /** server path -> "user:group", as last recorded. */
  owners(): Promise<Record<string, string>>;
  recordOwners(entries: { path: string; owner: string; group: string }[]): Promise<void>;
  /** When the sandbox's service commands are recorded (now, by default). */
  now(): Date;
}

export const SANDBOX_NOTE = "owners are recorded, not set; service commands are recorded, not run";

export function createSandbox(root: string, now: () => Date = () => new Date()): Sandbox {
  const dir = join(root, ".gen-sandbox");
  const ownersFile = join(dir, "owners.json");
  const owners = async (): Promise<Record<string, string>> => {
    try {
      return JSON.parse(await readFile(ownersFile, "utf8")) as Record<string, string>;
    } catch {
      return {};
    }
  };
  return {
    dir,
    owners,
    async recordOwners(entries) {
      if (entries.length === 0) return;
      const all = await owners();
      for (const { path, owner, group } of entries) all[path] = `${owner}:${group}`;
      await mkdir(dir, { recursive: true });
      await writeFile(`${ownersFile}.${process.pid}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
      await rename(`${ownersFile}.${process.pid}.tmp`, ownersFile);
    },
    now,
  };
}

/** A script that appends each command, as it would have run on a server, with why it ran, to commands.log. */
export function recordCommandScript(sandbox: Sandbox, commands: string[][], why: string): string {
  const at = sandbox.now().toISOString();
  const lines = commands.map((argv) => `${at} ${why}: ${argv.join(" ")}\n`).join("");
  return `mkdir -p ${quoteArg(sandbox.dir)} && printf '%s' ${quoteArg(lines)} >> ${quoteArg(join(sandbox.dir, "commands.log"))}`;
}
