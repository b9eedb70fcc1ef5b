// Runs the built command (dist/bundle/main.js) as a child process in a chosen folder, as a user's shell would.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";
import { testCacheHome } from "./test-cache-home.js";

export interface BinRun {
  code: number;
  out: string;
  err: string;
}

export const genBin = join(packageRoot, "dist", "bundle", "main.js");

export function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, bin = genBin): BinRun {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome(), ...env },
  });
  if (result.error) throw result.error;
  return { code: result.status ?? 1, out: result.stdout, err: result.stderr };
}
