// Runs the real tools (visudo, cvtsudoers, nginx, systemd-analyze, logrotate, python3) on rendered files, offline.
// In: rendered files (selected by kind; "symlink"/"other" are ignored) + what the target server has.
// Out: one report per tool that had files to check; a tool that could not run is "not-run", never "passed".
// Effects: each check works in its own throwaway folder (removed afterwards) and runs concurrently.

import type { FileKind, RenderedFile } from "../../types.js";
import { errorMessage } from "../../errors.js";
import { checkLogrotate } from "./logrotate.js";
import { checkNginxSite } from "./nginx-site.js";
import { checkPythonSettings } from "./python-settings.js";
import { checkSudoers } from "./sudoers.js";
import { checkSystemdUnits } from "./systemd-units.js";
import type { ToolCheckContext, ToolName, ToolReport, ToolRunOptions } from "./tool-report.js";

export type { ToolCheckContext, ToolName, ToolReport, ToolRunOptions } from "./tool-report.js";
export { checkLogrotate } from "./logrotate.js";
export { checkNginxSite } from "./nginx-site.js";
export { checkPythonSettings, evaluatePythonSettings } from "./python-settings.js";
export { allowlistProblems, checkSudoers } from "./sudoers.js";
export { checkSystemdUnits } from "./systemd-units.js";

type Check = (files: RenderedFile[], context: ToolCheckContext, options: ToolRunOptions) => Promise<ToolReport | ToolReport[]>;

const CHECKS: Array<{ kind: FileKind; tools: ToolName[]; check: Check }> = [
  { kind: "sudoers", tools: ["visudo", "cvtsudoers"], check: checkSudoers },
  { kind: "systemd-unit", tools: ["systemd-analyze"], check: checkSystemdUnits },
  { kind: "nginx-site", tools: ["nginx"], check: checkNginxSite },
  { kind: "logrotate", tools: ["logrotate"], check: checkLogrotate },
  { kind: "python-settings", tools: ["python3"], check: checkPythonSettings },
];

export async function runToolChecks(files: RenderedFile[], context: ToolCheckContext, options: ToolRunOptions = {}): Promise<ToolReport[]> {
  const results = await Promise.all(
    CHECKS.map(async ({ kind, tools, check }) => {
      const selected = files.filter((file) => file.kind === kind);
      if (selected.length === 0) return [];
      try {
        return [await check(selected, context, options)].flat();
      } catch (error) {
        const paths = selected.map((file) => file.path);
        return tools.map((tool) => ({ tool, files: paths, status: "not-run" as const, messages: [`internal error: ${errorMessage(error)}`] }));
      }
    }),
  );
  return results.flat();
}
