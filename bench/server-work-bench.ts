// `npm run bench -- --server-work`: what each command costs the server per host (server-work.ts): the median CPU
// time of its SSH sessions, next to the floor's (one `ssh cat` of the same files), and the programs it started.
import type { BenchServer } from "./bench-server.js";
import { expectExit, median, progress } from "./measure.js";
import { textTable } from "./report.js";
import { describePrograms, type ServerWatch, totalPrograms, watchServer } from "./server-work.js";
import { GEN_KEX } from "./ssh-bench.js";

export interface ServerWorkRow {
  name: string;
  runs: number;
  serverCpuMs: number;
  /** This row's CPU median / the floor's. */
  ratio?: number;
  programs: number;
  programNames: string;
}

interface Command {
  name: string;
  /** Untimed, before each run. */
  prepare?: (i: number) => Promise<void>;
  run: () => Promise<unknown>;
}

export async function benchServerWork(server: BenchServer, runs: number): Promise<ServerWorkRow[] | string> {
  const watch = await watchServer(server.sshd.pid, server.sshd.tempDir);
  if (typeof watch === "string") return `server work skipped: ${watch}`;
  try {
    await server.writeEnvironment();
    expectExit(await server.gen(["apply", "--yes"]), 0, "gen apply bench --yes (setup)");
    const files = server.files.filter((f) => f.kind !== "symlink").length;
    const gen = (args: string[], code: number) => async () => expectExit(await server.gen(args), code, `gen ${args.join(" ")} bench`);
    const commands: Command[] = [
      { name: `ssh cat floor, ${GEN_KEX} (${files} files)`, run: () => server.sshCat(GEN_KEX) },
      { name: "gen diff, nothing differs", run: gen(["diff"], 0) },
      { name: `gen diff, ${files} files differ`, prepare: (i) => server.changeEverything(i), run: gen(["diff"], 2) },
      { name: `gen apply --yes, ${files} files changed`, prepare: (i) => server.changeEverything(i), run: gen(["apply", "--yes"], 0) },
      { name: "gen apply --yes, nothing to do", run: gen(["apply", "--yes"], 0) },
    ];
    const rows: ServerWorkRow[] = [];
    for (const command of commands) rows.push(await measure(watch, command, runs));
    const floor = rows[0]!.serverCpuMs;
    return rows.map((row, i) => (i === 0 ? row : { ...row, ratio: row.serverCpuMs / floor }));
  } finally {
    await watch.stop();
  }
}

async function measure(watch: ServerWatch, command: Command, runs: number): Promise<ServerWorkRow> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    await command.prepare?.(i);
    samples.push(await watch.cpuMs(command.run));
  }
  await command.prepare?.(runs);
  const programs = await watch.programs(command.run);
  progress(`${command.name}: server work done`);
  return { name: command.name, runs, serverCpuMs: median(samples), programs: totalPrograms(programs), programNames: describePrograms(programs) };
}

export function formatServerWork(rows: ServerWorkRow[]): string {
  const header = ["per host", "runs", "server CPU ms", "× floor", "programs"];
  const lines = rows.map((r) => [r.name, String(r.runs), r.serverCpuMs.toFixed(1), r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`, String(r.programs)]);
  const started = rows.map((r) => `  ${r.name}: ${r.programNames || "none"}`);
  return [...textTable(header, lines), "", "Programs started on the server:", ...started].join("\n");
}
