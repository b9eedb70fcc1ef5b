// The build command of a mutation run (scripts/mutate.mjs), run by Stryker inside its sandbox: tsc, and with
// `bundle` also what `npm run build` does after it (tests that run the gen bin need dist/bundle).
// The sandbox folder is made private (mkdtemp); tests that run gen as the unprivileged gen-test user need to read it.
import { spawnSync } from "node:child_process";
import { chmodSync } from "node:fs";

chmodSync(".", 0o755);
const steps = [["npx", "tsc", "-p", "tsconfig.json"]];
if (process.argv[2] === "bundle") {
  steps.push(["node", "scripts/prune-dist.mjs"], ["npx", "tsc", "-p", "tsconfig.types.json"], ["node", "scripts/bundle.mjs"]);
}
for (const [command, ...args] of steps) {
  const run = spawnSync(command, args, { stdio: "inherit" });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
