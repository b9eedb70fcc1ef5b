// The programs gen runs with python3 or sh, on a server or on this machine, are files beside the module that runs
// them (src/**/*.py, *.sh), so that py_compile, pyflakes and shellcheck check them and Python's unittest tests them
// (test/server-programs.test.ts). A module gets a program's text with `programText(import.meta.url, "./name.py")`,
// written exactly so: under dist/ (the tests, the bench's in-process rows) the text is read once from the copy the
// build puts beside the compiled module (scripts/copy-programs.mjs); in the bundle scripts/bundle.mjs replaces each
// such call by the text itself, so the installed gen reads no file and each chunk holds only its own programs.
// A leaf module: every stage may use it.
import { readFileSync } from "node:fs";
import { pythonString } from "./python-string.js";

const texts = new Map<string, string>();

/** The text of the program `name` (relative, "./x.py") beside the module whose import.meta.url is `moduleUrl`. */
export function programText(moduleUrl: string, name: string): string {
  const url = new URL(name, moduleUrl).href;
  let text = texts.get(url);
  if (text === undefined) {
    text = readFileSync(new URL(url), "utf8");
    texts.set(url, text);
  }
  return text;
}

/** A Python module that a program imports: its name (`import name`) and its source. */
export interface PythonModule {
  name: string;
  source: string;
}

/**
 * One text for `python3 -c` (or standard input) that runs `program` (its source, and its file name for tracebacks)
 * with `modules` importable: nothing is installed on a server, so each module is made from its source
 * (types.ModuleType, then exec) and put in sys.modules before the program runs, and the program's own `import name`
 * finds it there, as it finds the file beside it when the tests import it. The sources travel as Python string
 * literals (ASCII, escaped: src/python-string.ts), and the program is compiled under its own file name, so its line numbers are its file's.
 */
export function pythonWithModules(program: { file: string; source: string }, modules: PythonModule[]): string {
  return [
    "import sys, types",
    "def _gen_module(name, source):",
    "    module = types.ModuleType(name)",
    '    module.__file__ = name + ".py"',
    "    sys.modules[name] = module",
    '    exec(compile(source, module.__file__, "exec"), module.__dict__)',
    ...modules.map((m) => `_gen_module(${pythonString(m.name)}, ${pythonString(m.source)})`),
    `exec(compile(${pythonString(program.source)}, ${pythonString(program.file)}, "exec"))`,
    "",
  ].join("\n");
}
