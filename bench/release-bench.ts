// The latency mode's rows of the release step and of the commands around it: gen deploy (a new release of a local
// repository each run, cloned by the server from a bare repository beside it), gen rollback, gen check and
// gen doctor, each against the fair floor. The services are the bench server's stand-ins and the smoke checks are
// the ones that need no running service (media), so what is measured is gen's own work and its round trips; the
// build command's own time (a copy into dist/) is measured apart and reported as a row.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createSampleApp, type SampleApp } from "../test/integration/deploy-support/sample-app.js";
import type { BenchServer } from "./bench-server.js";
import { batchesOf, execRequestsOf, expectExit, measurePair, progress, type Results, runTimed } from "./measure.js";
import { GEN_KEX, type SshRuns } from "./ssh-bench.js";

const BUILD = ["sh", "-c", "mkdir -p dist && cp index.html dist/"];

export async function benchReleaseRows(results: Results, server: BenchServer, runs: SshRuns): Promise<void> {
  const app = await sampleApp(server);
  server.overrides = {
    release: {
      repository: app.bare,
      sshUser: "root",
      install: [],
      tasks: [["python3", "manage.py", "migrate"]],
      migrations: null,
      keep: 3,
      frontend: { dir: "frontend", build: [BUILD], output: "frontend/dist" },
    },
    checks: { skip: ["gunicorn", "nginx", "static", "celery", "certificate"] },
  };
  await server.writeEnvironment();
  expectExit(await server.gen(["apply", "--yes"]), 0, "gen apply bench --yes (release rows' setup)");
  const floor = `ssh cat floor, ${GEN_KEX} (release rows)`;
  const common = { floor, warmups: 1, floorRun: () => server.sshCat(GEN_KEX) };
  const deploy = async () => {
    await nextSecond();
    const result = await server.gen(["deploy", "--yes", "--repo", app.checkout]);
    return { ms: expectExit(result, 0, "gen deploy bench"), ...exec(result) };
  };
  // Two releases before the rows: rollback always has one to go back to.
  await deploy();
  await deploy();
  await measurePair(results, { ...common, runs: runs.applyChanged, name: "gen deploy --yes (a new release)", measured: deploy });
  const build = await runTimed(BUILD[0]!, BUILD.slice(1), { cwd: join(app.checkout, "frontend") });
  results.declare("the build command alone (local)");
  results.add("the build command alone (local)", expectExit(build, 0, "the build command"));
  let back = true;
  await measurePair(results, {
    ...common,
    runs: runs.real,
    name: "gen rollback --yes",
    // Back to the release before, then forward again to the newest: each run switches and restarts.
    measured: async () => {
      const args = back ? ["rollback", "--yes"] : ["rollback", "--yes", "--to", await newest(server)];
      back = !back;
      const result = await server.gen(args);
      return { ms: expectExit(result, 0, `gen ${args.join(" ")} bench`), ...exec(result) };
    },
  });
  await measurePair(results, { ...common, runs: runs.real, name: "gen check", measured: timed(server, ["check"], 0) });
  // The bench server is no ready server (no deploy user, no database): doctor says so, exit 1, after its one program.
  await measurePair(results, { ...common, runs: runs.real, name: "gen doctor", measured: timed(server, ["doctor"], 1) });
  server.overrides = {};
  progress("release rows: done");
}

async function sampleApp(server: BenchServer): Promise<SampleApp> {
  await mkdir(join(server.sshd.tempDir, "app"), { recursive: true });
  const app = await createSampleApp(join(server.sshd.tempDir, "app"));
  await writeFile(join(app.checkout, "frontend", "index.html"), "<html>bench</html>\n");
  await app.commit("front end");
  return app;
}

async function newest(server: BenchServer): Promise<string> {
  const result = await server.genOutput(["releases", "--json"]);
  const hosts = JSON.parse(result) as { hosts: { releases: { id: string }[] }[] };
  return hosts.hosts[0]!.releases.at(-1)!.id;
}

/** Release folders are named by the UTC second: the next deploy waits for a new one. */
async function nextSecond(): Promise<void> {
  const now = new Date().toISOString().slice(0, 19);
  while (new Date().toISOString().slice(0, 19) === now) await new Promise((resolve) => setTimeout(resolve, 50));
}

function exec(result: Awaited<ReturnType<BenchServer["gen"]>>): { exec?: number; batches?: number } {
  const count = execRequestsOf(result);
  const batches = batchesOf(result);
  return { ...(count === undefined ? {} : { exec: count }), ...(batches === undefined ? {} : { batches }) };
}

function timed(server: BenchServer, args: string[], expected: number) {
  return async () => {
    const result = await server.gen(args);
    return { ms: expectExit(result, expected, `gen ${args.join(" ")} bench`), ...exec(result) };
  };
}
