// Turns yargs' failure messages into one usage error that names what was wrong and the closest valid name.
import { distance } from "fastest-levenshtein";
import { UsageError } from "../errors.js";

export interface UsageContext {
  /** The chosen command, when one was recognised. */
  command?: string;
  commands: string[];
  /** The option names the chosen command (or gen itself) accepts. */
  options: string[];
}

export function usageProblem(failures: string[], args: string[], context: UsageContext): UsageError {
  const lines: string[] = [];
  for (const failure of failures) {
    const unknown = /^Unknown arguments?: (.*)$/s.exec(failure);
    if (unknown) for (const name of typedNames(unknown[1]!.split(", "))) lines.push(unknownName(name, args, context));
    else if (!failure.startsWith("Did you mean")) lines.push(failure.replace(/^Not enough arguments following: (.*)$/, "option --$1 needs a value"));
  }
  // What was mistyped comes before what is missing because of it.
  const unique = [...new Set(lines)].sort((a, b) => Number(b.startsWith("unknown")) - Number(a.startsWith("unknown")));
  const help = context.command ? `gen ${context.command} --help` : "gen --help";
  return new UsageError(unique[0] ?? "invalid command line", [...unique.slice(1), `${help} lists the ${context.command ? "options" : "commands"}`]);
}

/** The names as typed: yargs lists an unknown --multi-word option twice, the second time as multiWord. */
function typedNames(names: string[]): string[] {
  const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  return names.filter((name) => kebab(name) === name || !names.includes(kebab(name)));
}

function unknownName(name: string, args: string[], context: UsageContext): string {
  const given = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  const negated = given(`--no-${name}`) && !given(`--${name}`);
  const asOption = negated || given(`--${name}`) || (name.length === 1 && args.some((a) => /^-[a-zA-Z]+$/.test(a) && a.includes(name)));
  if (asOption) {
    const typed = negated ? `no-${name}` : name;
    const flag = name.length === 1 ? `-${name}` : `--${typed}`;
    const near = closest(typed, context.options);
    return `unknown option ${flag}${context.command ? ` for gen ${context.command}` : ""}${near ? `; did you mean --${near}?` : ""}`;
  }
  if (!context.command) {
    const near = closest(name, context.commands);
    return `unknown command "${name}"${near ? `; did you mean ${near}?` : ""}`;
  }
  return `unexpected argument "${name}" for gen ${context.command}`;
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = candidate.startsWith(name) && name.length >= 3 ? 1 : distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
