// `gen render prod` as a whole process next to `node -e 0`, cold (both caches missed) and warm, and the
// in-process load + render.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEnvironment } from "../src/load/load-environment.js";
import { packageRoot } from "../src/paths.js";
import { renderEnvironment } from "../src/render/render-environment.js";
import { BUNDLE, genEnv } from "./bench-server.js";
import { expectExit, progress, runTimed, timeAsync, type Results } from "./measure.js";

const NODE = "node -e 0 (node start-up)";
const WARM = "gen render prod (process, warm cache)";
const FIRST = "gen render prod (process, first run)";
const COLD = "gen render prod (process, cold: caches missed)";
const IN_PROCESS = "loadEnvironment + renderEnvironment (in-process)";
const RENDER_ONLY = "renderEnvironment only (in-process)";

export async function benchRender(results: Results, runs = { process: 25, inProcess: 100, cold: 3, warmups: 3 }): Promise<void> {
  const temp = await mkdtemp(join(tmpdir(), "gen-bench-render-"));
  try {
    results.declare(NODE);
    results.declare(FIRST, {
      baseline: NODE,
      note: "the first `gen render prod` of this bench, with the caches in ~/.cache/gen (XDG_CACHE_HOME/gen) as found",
    });
    results.declare(COLD, {
      baseline: NODE,
      note: "a fresh copy of environments/ with a changed description: esbuild compile and zod validation both run; each run a new copy",
    });
    results.declare(WARM, {
      baseline: NODE,
      note: "the cache folder holds the compiled environment and the validated result, so neither esbuild nor zod runs",
    });
    const render = (out: string, envDir?: string) =>
      runTimed("node", [BUNDLE, "render", "prod", "--out", out, ...(envDir ? ["--environments", envDir] : [])], { env: genEnv, cwd: packageRoot });
    results.add(FIRST, expectExit(await render(join(temp, "out")), 0, "gen render prod"));
    for (let i = 0; i < runs.cold; i++) {
      const envDir = await freshEnvironments(temp, i);
      results.add(COLD, expectExit(await render(join(temp, `out-cold-${i}`), envDir), 0, "gen render prod (cold)"));
    }
    for (let i = 0; i < runs.warmups + runs.process; i++) {
      const node = expectExit(await runTimed("node", ["-e", "0"]), 0, "node -e 0");
      const gen = expectExit(await render(join(temp, "out")), 0, "gen render prod");
      if (i < runs.warmups) continue;
      results.add(NODE, node);
      results.add(WARM, gen);
    }
    progress("render (process): done");
    await benchInProcess(results, runs.inProcess, runs.warmups);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function benchInProcess(results: Results, runs: number, warmups: number): Promise<void> {
  const environmentsDir = join(packageRoot, "environments");
  results.declare(IN_PROCESS, { note: "with the validation cache, as the CLI loads" });
  results.declare(RENDER_ONLY);
  const load = () => loadEnvironment("prod", { environmentsDir, processEnv: genEnv, cache: true });
  const renderOf = (loaded: Awaited<ReturnType<typeof load>>) =>
    renderEnvironment({ name: "prod", environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: loaded.environmentsDir });
  for (let i = 0; i < warmups + runs; i++) {
    const both = await timeAsync(async () => renderOf(await load()));
    const loaded = await load();
    const only = await timeAsync(async () => renderOf(loaded));
    if (i < warmups) continue;
    results.add(IN_PROCESS, both);
    results.add(RENDER_ONLY, only);
  }
  progress("render (in-process): done");
}

/** prod.ts copied into a fresh folder (it extends preset:tsosi and imports "gen"), its definition made unique. */
async function freshEnvironments(temp: string, run: number): Promise<string> {
  const dir = join(temp, `cold-${run}`);
  await mkdir(join(dir, "environments"), { recursive: true });
  const prod = await readFile(join(packageRoot, "environments", "prod.ts"), "utf8");
  const nonce = `bench ${process.pid}-${Date.now()}-${run}`;
  const unique = /description:\s*"/.test(prod)
    ? prod.replace(/description:\s*"([^"]*)"/, `description: "$1 (${nonce})"`)
    : prod.replace("defineEnvironment({", `defineEnvironment({ description: "${nonce}",`);
  await writeFile(join(dir, "environments", "prod.ts"), unique);
  return join(dir, "environments");
}
