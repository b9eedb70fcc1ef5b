// Shell completion. `gen completion` prints a bash function; bash calls it on <Tab> with the words of the command line,
// and it asks the gen being completed (gen on PATH, a path to one such as node_modules/.bin/gen, or for `npx gen` the
// project's own) for the words to offer: `<gen> --get-yargs-completions <program> <word>... <word under the cursor>`.
// That question never goes through the command-line parser, so it cannot fail as a usage error would.
import { resolve } from "node:path";
import yargs, { type Argv } from "yargs";
import { listEnvironments, EMBEDDED_EXAMPLE } from "../load/load-environment.js";
import type { GenCommand } from "./command.js";
import { project, withGlobalOptions } from "./environment-options.js";

/** The option bash passes first (yargs' name, kept so that a script installed by an older gen still works). */
export const COMPLETION_REQUEST = "--get-yargs-completions";

/**
 * The words to offer for the last of `words`: the command line up to the cursor, the program as typed first (it is
 * ignored). An option's value other than a choice is left to bash (files, with the script's `-o default`).
 */
export function completeCommandLine(words: string[], commands: GenCommand[]): string[] {
  const typed = words.slice(1);
  const current = typed.pop() ?? "";
  const line = readLine(typed, commands);
  if (line.afterDoubleDash || line.unknownCommand) return [];
  const options = optionsOf(line.command);
  if (line.valueFor !== undefined) return (options.get(line.valueFor)?.choices ?? []).filter((c) => c.startsWith(current));
  if (current.startsWith("-")) {
    return [...options.keys()].map((name) => `--${name}`).filter((flag) => flag.startsWith(current) && !line.given.has(flag.slice(2)));
  }
  if (!line.command) return commands.map((c) => commandName(c)).filter((name) => name.startsWith(current));
  if (line.positionals === 0 && /[[<]env[\]>]/.test(line.command.command)) return environmentNames(line.environments).filter((n) => n.startsWith(current));
  return [];
}

interface ReadLine {
  command?: GenCommand;
  unknownCommand: boolean;
  /** Positional words after the command. */
  positionals: number;
  /** The option whose value is being typed. */
  valueFor?: string;
  given: Set<string>;
  environments?: string;
  afterDoubleDash: boolean;
}

/** What the words before the cursor say: the command, its positionals so far, the options given. */
function readLine(words: string[], commands: GenCommand[]): ReadLine {
  const line: ReadLine = { unknownCommand: false, positionals: 0, given: new Set(), afterDoubleDash: false };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") return { ...line, afterDoubleDash: true };
    if (word.startsWith("-") && word !== "-") {
      const [name = "", inline] = word.replace(/^--?/, "").split(/=(.*)/s);
      line.given.add(name);
      // bash splits --name=value at "=" (COMP_WORDBREAKS): the words are then --name, "=", value.
      const joined = words[i + 1] === "=";
      const takesValue = optionsOf(line.command).get(name)?.takesValue ?? false;
      if (inline !== undefined || !takesValue) continue;
      const value = joined ? words[i + 2] : words[i + 1];
      if (value === undefined) return { ...line, valueFor: name };
      if (name === "environments") line.environments = value;
      i += joined ? 2 : 1;
      continue;
    }
    if (line.command) line.positionals++;
    else {
      line.command = commands.find((c) => commandName(c) === word);
      if (!line.command) return { ...line, unknownCommand: true };
    }
  }
  return line;
}

function commandName(command: GenCommand): string {
  return command.command.split(" ")[0]!;
}

interface OptionSpec {
  takesValue: boolean;
  choices?: string[];
}

/** gen's options, and the command's: from the same yargs builders that parse them. */
function optionsOf(command: GenCommand | undefined): Map<string, OptionSpec> {
  let parser: Argv = withGlobalOptions(yargs([])).help().version();
  if (command) parser = command.builder(parser as never) as Argv;
  const o = (parser as unknown as { getOptions: () => YargsOptions }).getOptions();
  const positional = new Set(command?.command.match(/[[<]([^\]>]+)[\]>]/g)?.map((p) => p.slice(1, -1)) ?? []);
  const specs = new Map<string, OptionSpec>();
  for (const name of Object.keys(o.key)) {
    if (positional.has(name) || name.length === 1 || o.hiddenOptions.includes(name)) continue;
    const takesValue = !o.boolean.includes(name) && !o.count.includes(name);
    const choices = o.choices[name]?.map(String);
    specs.set(name, { takesValue, ...(choices ? { choices } : {}) });
  }
  return specs;
}

interface YargsOptions {
  key: Record<string, unknown>;
  boolean: string[];
  count: string[];
  hiddenOptions: string[];
  choices: Record<string, unknown[] | undefined>;
}

/** The environments a command would find (load/project.ts), and the embedded example, which always answers. */
function environmentNames(given: string | undefined): string[] {
  try {
    const names = listEnvironments(given !== undefined ? resolve(given) : project({}).environmentsDir);
    return names.includes(EMBEDDED_EXAMPLE) ? names : [...names, EMBEDDED_EXAMPLE];
  } catch {
    // A folder that cannot be read (or a package.json that does not parse) offers nothing; the command will say why.
    return [];
  }
}

/**
 * The bash function. It runs the gen being completed: a path typed as the command (node_modules/.bin/gen, ~/x/gen),
 * gen on PATH, else the nearest node_modules/.bin/gen above the working folder, which is also the one `npx gen` runs
 * (npx itself is never called: it would fetch a package named gen from the registry when the project has none).
 * It registers for npx only when nothing else completes npx.
 */
export const COMPLETION_SCRIPT = `###-begin-gen-completions-###
# bash completion for gen: gen completion >> ~/.bashrc (gen installed in a project: npx gen completion >> ~/.bashrc)
# It completes gen, a path to it (node_modules/.bin/gen) and npx gen, asking the gen that would run.
_gen_completions() {
  local first=0 bin=\${COMP_WORDS[0]} dir line
  COMPREPLY=()
  if [[ \${bin##*/} == npx ]]; then
    [[ \${COMP_WORDS[1]} == gen && COMP_CWORD -ge 2 ]] || return 0
    first=1
    bin=
  elif [[ $bin == */* ]]; then
    [[ $bin == "~/"* ]] && bin=$HOME/\${bin#"~/"}
  else
    bin=$(type -P gen)
  fi
  if [[ -z $bin ]]; then
    dir=$PWD
    until [[ -x $dir/node_modules/.bin/gen ]]; do
      [[ -n $dir ]] || return 0
      dir=\${dir%/*}
    done
    bin=$dir/node_modules/.bin/gen
  fi
  while IFS= read -r line; do
    COMPREPLY+=("$line")
  done < <("$bin" ${COMPLETION_REQUEST} "\${COMP_WORDS[@]:first:COMP_CWORD-first+1}" 2>/dev/null)
  return 0
}
complete -o bashdefault -o default -F _gen_completions gen
complete -p npx >/dev/null 2>&1 || complete -o bashdefault -o default -F _gen_completions npx
###-end-gen-completions-###
`;
