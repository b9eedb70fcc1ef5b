import { EMBEDDED_EXAMPLE, firstProblem, listEnvironments, readMergedDefinition } from "../../load/load-environment.js";
import type { GenCommand } from "../command.js";
import { environmentsDir } from "../environment-options.js";
import { printResult } from "../report.js";

export const listCommand: GenCommand<object> = {
  command: "list",
  describe: "List the environments in environments/ and where they point; a broken one is shown with its first problem (exit 1)",
  builder: (yargs) => yargs as never,
  async run(argv, output) {
    const dir = environmentsDir(argv);
    const names = listEnvironments(dir);
    // The embedded example answers to its name even when the user has no environment of that name.
    if (!names.includes(EMBEDDED_EXAMPLE)) names.push(EMBEDDED_EXAMPLE);
    const rows = await Promise.all(
      names.map(async (name) => {
        const problem = await firstProblem(dir, name);
        const { data } = await readMergedDefinition(dir, name).catch(() => ({ data: {} }));
        const d = data as { description?: string; server?: { host?: string; transport?: string; hosts?: { host: string }[] } };
        const where = d.server?.transport === "local" ? "local folder" : (d.server?.hosts?.map((h) => h.host).join(",") ?? d.server?.host ?? "(no host)");
        const preset = name === EMBEDDED_EXAMPLE && !listEnvironments(dir).includes(name) ? " (preset, shipped with gen)" : "";
        return { name, where, description: `${d.description ?? ""}${preset}`, ...(problem ? { problem } : {}) };
      }),
    );
    if (argv.json) printResult(output, "list", { environments: rows });
    else {
      for (const row of rows) {
        if (row.problem) output.out(`${row.name.padEnd(12)} BROKEN: ${row.problem}`);
        else output.out(`${row.name.padEnd(12)} ${row.where.padEnd(22)} ${row.description}`);
      }
    }
    return rows.some((r) => r.problem) ? 1 : 0;
  },
};
