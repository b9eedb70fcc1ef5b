import { writeFile } from "node:fs/promises";
import { inspectEnvironment } from "../../plan/inspect-environment.js";
import { planHasChanges, summarizePlan } from "../../plan/plan-changes.js";
import type { GenCommand } from "../command.js";
import { connectOptions, withConnectOptions, type ConnectArgs } from "../connect-options.js";
import { printPlanDiff } from "../diff-report.js";
import { loadAndRender, withEnvironment } from "../environment-options.js";
import { printJson } from "../report.js";
import { selectFiles } from "./render.js";
import { savePlan } from "../../plan/saved-plan.js";

interface DiffArgs extends ConnectArgs {
  env: string;
  stat: boolean;
  only?: string;
  out?: string;
}

export const diffCommand: GenCommand<DiffArgs> = {
  command: "diff [env]",
  describe: "Compare the rendered files with the live server (exit 0: same, 2: differences, 1: error)",
  builder: (yargs) =>
    withConnectOptions(withEnvironment(yargs))
      .option("stat", { type: "boolean", default: false, describe: "list changed files and the summary only" })
      .option("only", { type: "string", describe: "only files whose server path matches this glob" })
      .option("out", { type: "string", describe: "save the plan (with the server hashes it was computed against) for gen apply --plan" }) as never,
  examples: [
    ["gen diff prod", "unified diffs of what apply would change on prod"],
    ["gen diff prod --out plan.json", "save the reviewed plan for `gen apply prod --plan plan.json`"],
  ],
  async run(argv, output) {
    const prepared = await loadAndRender(argv.env, argv);
    const files = selectFiles(prepared.rendered.files, argv.only);
    const inspected = await inspectEnvironment(prepared.loaded, files, prepared.rendered.manifest.folders, connectOptions(argv, argv.env), argv.concurrency);
    const { plan } = inspected;
    if (argv.out) await writeFile(argv.out, savePlan(plan, prepared.rendered.files));
    if (argv.json) {
      printJson(output, plan, prepared.redact);
    } else {
      printPlanDiff(output, plan, {
        rendered: new Map(files.map((f) => [f.path, f])),
        server: inspected.serverFiles,
        secrets: prepared.loaded.secrets.values,
        showSecrets: argv["show-secrets"] ?? false,
        redact: prepared.redact,
      }, { stat: argv.stat });
      if (argv.out) output.out(`plan saved to ${argv.out}: apply it with gen apply ${argv.env} --plan ${argv.out}`);
    }
    if (summarizePlan(plan).failedHosts > 0) return 1;
    return planHasChanges(plan) || plan.hosts.some((h) => h.entries.some((e) => e.action === "unreadable")) ? 2 : 0;
  },
};
