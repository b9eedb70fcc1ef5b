// The build command of a mutation run (scripts/mutate.mjs), run by Stryker inside its sandbox: tsc and the programs, and with
// `bundle` also what `npm run build` does after it (tests that run the gen bin need dist/bundle).
// The sandbox folder is made private (mkdtemp); tests that run gen as the unprivileged gen-test user need to read it.
import { spawnSync } from "node:child_process";
import { chmodSync } from "node:fs";

chmodSync(".", 0o755);
// The programs gen runs as files (src/**/*.py, ...) are copied into dist/ by every build: tests read them there.
const steps =
  process.argv[2] === "bundle"
    ? [
        ["npx", "tsc", "-p", "tsconfig.json"],
        ["node", "scripts/prune-dist.mjs"],
        ["node", "scripts/copy-programs.mjs"],
        ["npx", "tsc", "-p", "tsconfig.types.json"],
        ["node", "scripts/bundle.mjs"],
      ]
    : [
        ["npx", "tsc", "-p", "tsconfig.json"],
        ["node", "scripts/copy-programs.mjs"],
      ];
for (const [command, ...args] of steps) {
  const run = spawnSync(command, args, { stdio: "inherit" });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
