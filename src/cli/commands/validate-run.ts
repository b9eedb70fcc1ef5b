// The work of `gen validate`, loaded only when the command runs (keeps start-up small).
import { validateEnvironment } from "../../validate/validate-environment.js";
import { loadAndRender } from "../environment-options.js";
import { printIssues, printResult, printToolReports } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";
import type { ValidateArgs } from "./validate.js";

export async function runValidate(argv: ValidateArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  // Checking an environment needs no secret value: a password manager is not asked (its secrets render as placeholders).
  const prepared = await loadAndRender(argv.env, argv, undefined, { secretCommands: false });
  const result = await validateEnvironment(prepared.loaded, prepared.rendered, { runTools: argv.tools });
  const failed = result.toolReports.filter((r) => r.status === "failed").length;
  const notRun = result.toolReports.filter((r) => r.status === "not-run");
  if (argv.json) {
    printResult(output, "validate", { environment: argv.env, ok: result.issues.length === 0 && failed === 0, ...result });
  } else {
    printIssues(output, result.issues);
    printToolReports(output, result.toolReports);
    const checks = `${result.issues.length} cross-file problem${result.issues.length === 1 ? "" : "s"}`;
    const tools = argv.tools ? `, ${failed} tool check${failed === 1 ? "" : "s"} failed, ${notRun.length} not run` : ", real tools skipped (--no-tools)";
    output.out(`${prepared.loaded.file}: ${checks}${tools}`);
    for (const report of notRun) output.err(`not checked: ${report.tool} (${report.messages.join("; ")})`);
  }
  return result.issues.length > 0 || failed > 0 ? 1 : 0;
}
