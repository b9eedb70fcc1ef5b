// Django settings_local.py: compile with warnings as errors (no .pyc), static checks (implicit string
// concatenation, undefined names, duplicate assignments, placeholders, non-UPPERCASE names), then execute the
// file in an isolated interpreter (`python3 -I -B`) and read back its UPPERCASE names as JSON: settings_check.py.
// In: rendered files of kind "python-settings". Out: one "python3" report; evaluatePythonSettings gives the values.
// Effects: the interpreter runs with its working folder in a throwaway folder, which is removed afterwards.

import type { RenderedFile } from "../../types.js";
import { GenError } from "../../errors.js";
import { programText } from "../../program-text.js";
import type { ToolCheckContext, ToolReport, ToolRunOptions } from "./tool-report.js";
import { childEnv, describeExit, envOf, findExecutable, missingBinary, notRun, report, runCommand, timeoutOf, withTempDir } from "./tool-runner.js";

/** /usr/bin/python3 starts about 3x faster than a pyenv shim; used when its folder is on PATH. */
const PREFERRED_PYTHON_DIRS = ["/usr/bin", "/bin"];

interface ScriptResult {
  problems: Array<[number, string]>;
  values: Record<string, unknown> | null;
}

export async function checkPythonSettings(files: RenderedFile[], _context?: ToolCheckContext, options: ToolRunOptions = {}): Promise<ToolReport> {
  const paths = files.map((file) => file.path);
  if (files.length === 0) return notRun("python3", [], "no python settings files");
  const python = await findPython(options);
  if (python === undefined) return missingBinary("python3", paths, "python3", "python3");
  const perFile = await Promise.all(
    files.map(async (file) => {
      const result = await runScript(python, { name: file.path, source: file.content, secret: file.secret, mode: "check" }, options);
      return result.problems.map(([line, message]) => `${file.path}:${line}: ${message}`);
    }),
  );
  return report("python3", paths, perFile.flat());
}

/**
 * Executes a settings file (plain literal assignments) in an isolated interpreter and returns its
 * top-level UPPERCASE names. Throws a GenError when python3 is missing or the file does not run.
 */
export async function evaluatePythonSettings(content: string, options: ToolRunOptions = {}): Promise<Record<string, unknown>> {
  const python = await findPython(options);
  if (python === undefined) throw new GenError('python3 not found on PATH: install the Debian package "python3"');
  const result = await runScript(python, { name: "settings_local.py", source: content, secret: true, mode: "evaluate" }, options);
  if (result.values === null || result.problems.length > 0) {
    throw new GenError("settings_local.py could not be evaluated", {
      details: result.problems.map(([line, message]) => `settings_local.py:${line}: ${message}`),
    });
  }
  return result.values;
}

function findPython(options: ToolRunOptions): Promise<string | undefined> {
  return findExecutable("python3", envOf(options), PREFERRED_PYTHON_DIRS);
}

interface ScriptRequest {
  name: string;
  source: string;
  secret: boolean;
  mode: "check" | "evaluate";
}

async function runScript(python: string, request: ScriptRequest, options: ToolRunOptions): Promise<ScriptResult> {
  return withTempDir("python", options, async (dir) => {
    const output = await runCommand(python, ["-I", "-B", "-W", "error", "-c", programText(import.meta.url, "./settings_check.py")], {
      env: childEnv(options, dir),
      cwd: dir,
      input: JSON.stringify(request),
      timeoutMs: timeoutOf(options),
    });
    const parsed = parseResult(output.stdout);
    if (output.exitCode !== 0 || parsed === undefined) {
      // The script itself failed: show python's last line (never the file's content).
      const last = output.stderr.trim().split("\n").at(-1);
      return { problems: [[1, `settings check did not run: ${last || describeExit("python3", output)}`]], values: null };
    }
    return parsed;
  });
}

function parseResult(stdout: string): ScriptResult | undefined {
  try {
    const value = JSON.parse(stdout) as ScriptResult;
    return Array.isArray(value.problems) ? value : undefined;
  } catch {
    return undefined;
  }
}
