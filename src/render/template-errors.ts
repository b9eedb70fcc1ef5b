// Errors in a user's template (an override or a files entry's own) that name the file, the line and what was wrong.
// nunjucks says "attempted to output null or undefined value" without the name, and attributes it to the last
// template included before it (_header.njk, which every template includes first): the code after an include runs in
// its callback. So the compiled check is replaced by one that knows its template: `namedOutputChecks` rewrites the
// compiled code to call `outputDefined` with the template's path. A syntax error gets the path and line it lacks.
import { readFileSync } from "node:fs";
import { GenError } from "../errors.js";
import { display } from "../load/read-definition.js";

/** The name the rewritten code calls the check by (a parameter of the function that evaluates it). */
export const OUTPUT_CHECK = "genOutputDefined";

/** Compiled template code whose output checks name `template` (throwOnUndefined's runtime.ensureDefined otherwise). */
export function namedOutputChecks(code: string, template: string): string {
  return code.replaceAll("runtime.ensureDefined(", `${OUTPUT_CHECK}(${JSON.stringify(template)}, `);
}

/** An output of null or undefined: `lineno` and `colno` are nunjucks' (from 0), at the `{{` of the output. */
export function outputDefined(template: string, value: unknown, lineno: number, colno: number): unknown {
  if (value === null || value === undefined) throw new UndefinedOutput(template, lineno + 1, colno + 1, value);
  return value;
}

export class UndefinedOutput extends Error {
  constructor(
    readonly template: string,
    readonly line: number,
    column: number,
    value: null | undefined,
  ) {
    const expression = outputExpression(template, line, column);
    super(
      `${display(template)}, line ${line}: ${expression ? `${expression} is ${value}` : `an output is ${value}`} (a misspelled field, or one this environment does not set)`,
    );
    this.name = "UndefinedOutput";
  }
}

/** The text between `{{` and `}}` at that place of the template, when it can be read. */
function outputExpression(template: string, line: number, column: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(template, "utf8").split("\n")[line - 1] ?? "";
  } catch {
    return undefined;
  }
  const output = /^\{\{-?\s*(.*?)\s*-?\}\}/.exec(text.slice(column - 1));
  return output?.[1] || undefined;
}

/** A template that nunjucks cannot parse, with its path and, when nunjucks knows it, the line and column. */
export function templateSyntaxError(template: string, error: unknown): GenError {
  const { lineno, colno, message } = error as { lineno?: number; colno?: number; message?: string };
  // nunjucks names its parser's function first ("parseIf: expected elif, else, or endif, got end of file").
  const what = String(message ?? error).replace(/^parse\w+: /, "");
  const where = lineno ? `, line ${lineno}${colno ? `, column ${colno}` : ""}` : /end of file/.test(what) ? ", at the end of the file" : "";
  return new GenError(`${display(template)}${where}: ${what}`);
}

/** The UndefinedOutput under nunjucks' wrapping of an error (its `cause`, with the environment's `dev` on). */
export function undefinedOutputIn(error: unknown): UndefinedOutput | undefined {
  for (let e = error; e instanceof Error; e = e.cause) if (e instanceof UndefinedOutput) return e;
  return undefined;
}
