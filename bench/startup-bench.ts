// `npm run bench -- --startup`: what each piece of gen's start-up machinery buys, side by side. Every round runs
// `gen render prod` once per variant, in turn, with its own cache folder: all warm (the baseline), then each piece
// taken away alone (V8's code cache, the compiled environment, the validated environment, the bundle and its
// launcher; gen's own templates are compiled into the bundle), all caches missed, and `node -e 0`. A piece buys the difference of the medians.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../src/paths.js";
import { BUNDLE, genEnv } from "./bench-server.js";
import { expectExit, progress, type Results, runTimed } from "./measure.js";

interface Variant {
  name: string;
  /** Cache entries removed before each run (by name prefix); "*" removes every entry. */
  drop?: string[];
  env?: NodeJS.ProcessEnv;
  argv?: string[];
}

const UNBUNDLED = join(packageRoot, "dist", "src", "cli", "main.js");
const BASE = "gen render prod, every cache warm";

const VARIANTS: Variant[] = [
  { name: BASE },
  { name: "without V8's code cache (GEN_NO_COMPILE_CACHE=1)", env: { GEN_NO_COMPILE_CACHE: "1" } },
  { name: "the compiled environment missed (bundle-*)", drop: ["bundle-"] },
  { name: "the validated environment missed (env-*)", drop: ["env-"] },
  { name: "every cache missed", drop: ["*"] },
  { name: "unbundled, without the launcher (dist/src/cli/main.js)", argv: [UNBUNDLED] },
  { name: "node -e 0", argv: ["-e", "0"] },
];

export async function benchStartup(results: Results, runs: { rounds: number; warmups: number }): Promise<void> {
  const homes = VARIANTS.map(() => mkdtempSync(join(tmpdir(), "gen-bench-startup-")));
  const out = mkdtempSync(join(tmpdir(), "gen-bench-startup-out-"));
  try {
    for (const v of VARIANTS) results.declare(v.name, v.name === BASE ? {} : { baseline: BASE });
    for (let round = 0; round < runs.warmups + runs.rounds; round++) {
      for (const [i, variant] of VARIANTS.entries()) {
        const home = homes[i]!;
        if (round >= 1) dropEntries(join(home, "gen"), variant.drop ?? []);
        const argv = variant.argv ?? [BUNDLE, "render", "prod", "--out", join(out, String(i))];
        const args = argv[0] === UNBUNDLED ? [...argv, "render", "prod", "--out", join(out, String(i))] : argv;
        const ms = expectExit(
          await runTimed("node", args, { env: { ...genEnv, GEN_REPORT_EXEC: "", XDG_CACHE_HOME: home, ...variant.env }, cwd: packageRoot }),
          0,
          variant.name,
        );
        if (round >= runs.warmups) results.add(variant.name, ms);
      }
    }
    progress("start-up pieces: done");
  } finally {
    for (const home of [...homes, out]) rmSync(home, { recursive: true, force: true });
  }
}

function dropEntries(dir: string, prefixes: string[]): void {
  if (prefixes.length === 0) return;
  for (const name of safeList(dir)) {
    if (prefixes.includes("*") || prefixes.some((p) => name.startsWith(p))) rmSync(join(dir, name), { force: true });
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
