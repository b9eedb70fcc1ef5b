import { validateEnvironment } from "../../validate/validate-environment.js";
import type { GenCommand } from "../command.js";
import { loadAndRender, withEnvironment } from "../environment-options.js";
import { printIssues, printJson, printToolReports } from "../report.js";

interface ValidateArgs {
  env: string;
  tools: boolean;
}

export const validateCommand: GenCommand<ValidateArgs> = {
  command: "validate [env]",
  describe: "Check the schema, the relations between the rendered files, and each file with its real tool",
  builder: (yargs) =>
    withEnvironment(yargs).option("tools", { type: "boolean", default: true, describe: "run nginx -t, visudo, systemd-analyze, logrotate and python3 (--no-tools skips them)" }) as never,
  examples: [["gen validate prod", "schema, cross-file checks and the real tools"]],
  async run(argv, output) {
    const prepared = await loadAndRender(argv.env, argv);
    const result = await validateEnvironment(prepared.loaded, prepared.rendered, { runTools: argv.tools });
    const failed = result.toolReports.filter((r) => r.status === "failed").length;
    const notRun = result.toolReports.filter((r) => r.status === "not-run");
    if (argv.json) {
      printJson(output, result, prepared.redact);
    } else {
      printIssues(output, result.issues);
      printToolReports(output, result.toolReports, prepared.redact);
      const checks = `${result.issues.length} cross-file problem${result.issues.length === 1 ? "" : "s"}`;
      const tools = argv.tools ? `, ${failed} tool check${failed === 1 ? "" : "s"} failed, ${notRun.length} not run` : ", real tools skipped (--no-tools)";
      output.out(`${prepared.loaded.file}: ${checks}${tools}`);
      for (const report of notRun) output.err(`not checked: ${report.tool} (${report.messages.join("; ")})`);
    }
    return result.issues.length > 0 || failed > 0 ? 1 : 0;
  },
};
