// Parses argv with yargs, runs one command and returns its exit code. Never exits: main.ts does.
// Parsing and running are two steps: yargs only records which command was chosen, and the command runs after
// the whole command line was found valid, so a mistyped option never reads, writes or connects anything.
import yargs, { type Argv } from "yargs";
import { GenError, UsageError, USAGE_EXIT_CODE_BESIDE_DIFFERENCES, type ExitCode } from "../errors.js";
import type { GenCommand } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { withGlobalOptions, type GlobalOptions } from "./environment-options.js";
import { createOutput, processSink, terminalColumns, type Output, type Sink } from "./output.js";
import { usageProblem } from "./usage-errors.js";
import { COMPLETION_REQUEST, completeCommandLine } from "./completion.js";
import { genVersion } from "../paths.js";

/** Everything is printed through one Output on `sink` (output.ts): errors, --debug traces and help included. */
export async function runCli(args: string[], sink: Sink = processSink): Promise<ExitCode> {
  const options = { debug: gensOwn(args).includes("--debug"), json: flagGiven(args, "json") };
  let output = createOutput(sink, { showSecrets: flagGiven(args, "show-secrets") });
  let chosen: Chosen | undefined;
  try {
    if (args[0] === COMPLETION_REQUEST) {
      for (const word of completeCommandLine(args.slice(1), COMMANDS)) output.verbatim(word);
      return 0;
    }
    chosen = await parse(args, output);
    if (!chosen) return 0;
    // What yargs parsed is what the command sees: the Output shows secrets exactly when the command does.
    output = createOutput(sink, { showSecrets: chosen.argv["show-secrets"] === true });
    return await chosen.command.run(chosen.argv as never, output);
  } catch (error) {
    return reportError(error, output, { ...options, usageExitCode: usageExitCode(chosen?.command ?? namedCommand(args)) });
  }
}

/** Wrong usage exits 2, as yargs and most CLIs do, except where 2 means "differences" (GenCommand.reportsDifferences). */
function usageExitCode(command: GenCommand | undefined): ExitCode | undefined {
  return command?.reportsDifferences ? USAGE_EXIT_CODE_BESIDE_DIFFERENCES : undefined;
}

/** The command a command line names, before (or when) yargs could not parse it: its first word that is one. */
function namedCommand(args: string[]): GenCommand | undefined {
  const word = args.find((a) => COMMANDS.some((c) => commandName(c) === a));
  return COMMANDS.find((c) => commandName(c) === word);
}

function commandName(command: GenCommand): string {
  return command.command.split(" ")[0]!;
}

interface Chosen {
  command: GenCommand;
  argv: Record<string, unknown>;
}

/** The chosen command and its options, undefined when yargs printed help or the version. */
async function parse(args: string[], output: Output): Promise<Chosen | undefined> {
  let chosen: Chosen | undefined;
  let commandOptions: string[] | undefined;
  const failures: string[] = [];
  const parser = withGlobalOptions(yargs(args))
    .scriptName("gen")
    .usage("$0 <command> [env] [options]\n\nTyped server environments rendered, diffed, applied and released.")
    .strict()
    .demandCommand(1, "name a command (gen --help lists them)")
    .help()
    .alias("h", "help")
    .version("version", "print gen's version", genVersion())
    // Laying out help text costs ~8 ms of start-up; only help needs it.
    .wrap(args.includes("--help") || args.includes("-h") ? Math.min(100, terminalColumns()) : null)
    .exitProcess(false)
    // yargs goes on after a failure unless this throws; nothing runs in yargs anyway, so every problem is
    // collected and reported together below.
    .fail((message, error) => {
      failures.push(message ?? error?.message ?? "invalid command line");
    })
    .epilog(
      "Exit status: 0 success, 1 failure, 2 wrong usage; gen diff and gen status: 0 no difference, 1 failure, 2 differences, 64 wrong usage; 128 + N stopped by signal N (130: Ctrl-C).",
    );
  for (const command of COMMANDS) {
    parser.command({
      command: command.command,
      describe: command.describe,
      builder: (y) => {
        const built = command.builder(y as never);
        for (const [example, description] of command.examples ?? []) built.example(example, description);
        commandOptions = knownOptions(built);
        return built;
      },
      handler: (argv) => {
        // A copy where a command keeps what follows -- (gen run): the top level moves it into argv._ after this.
        chosen = { command, argv: "--" in argv ? { ...argv } : argv };
      },
    });
  }
  for (const [example, description] of COMMANDS.flatMap((c) => c.examples ?? []).slice(0, 4)) parser.example(example, description);

  skipHelpLayout(parser);
  let printed = "";
  await parser.parseAsync(args, {}, (_error, _argv, text) => {
    printed = text;
  });
  if (failures.length > 0) {
    const named = chosen?.command ?? namedCommand(args);
    throw usageProblem(failures, args, {
      commands: COMMANDS.map(commandName),
      ...(named ? { command: commandName(named) } : {}),
      options: commandOptions ?? knownOptions(parser),
    });
  }
  if (printed) {
    output.verbatim(printed);
    return undefined;
  }
  return chosen;
}

/**
 * yargs lays out the chosen command's help text after calling its handler, in case a later failure prints it. gen
 * reports its own usage errors and prints help only for --help (laid out then), so the layout is skipped: it cost a
 * third of a render's start-up (its Unicode width tables compile an emoji RegExp and an Intl.Segmenter).
 */
function skipHelpLayout(parser: Argv): void {
  const internal = parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => {};
}

/** Every option name the chosen command accepts, with aliases and the --no- form of booleans. */
function knownOptions(parser: Argv): string[] {
  const options = (parser as unknown as { getOptions: () => unknown }).getOptions() as {
    key: Record<string, unknown>;
    boolean: string[];
    alias: Record<string, string[]>;
  };
  const names = new Set([...Object.keys(options.key), ...Object.values(options.alias).flat(), "help", "version"]);
  for (const name of options.boolean) names.add(`no-${name}`);
  return [...names].filter((n) => n.length > 1 && !/[A-Z]/.test(n));
}

/** Whether a boolean flag is on, before yargs has parsed the command line (for reporting a failure to parse it). */
function flagGiven(args: string[], flag: string): boolean {
  const own = gensOwn(args);
  const last = own.lastIndexOf(`--${flag}`);
  return last >= 0 && last > own.lastIndexOf(`--no-${flag}`);
}

/** The words before `--`: those after it are another program's (gen run's management command). */
function gensOwn(args: string[]): string[] {
  const end = args.indexOf("--");
  return end < 0 ? args : args.slice(0, end);
}

/** `usageExitCode`: the code of a UsageError when it is not the usual one (the command's 2 means something else). */
export function reportError(
  error: unknown,
  output: Output,
  options: Pick<GlobalOptions, "debug" | "json"> & { usageExitCode?: ExitCode | undefined },
): ExitCode {
  const known = error instanceof GenError;
  const exitCode: ExitCode = error instanceof UsageError ? (options.usageExitCode ?? error.exitCode) : known ? error.exitCode : 1;
  const message = error instanceof Error ? error.message : String(error);
  const details = known ? error.details : [];
  if (options.json) {
    const internal = known ? {} : { internal: true, ...(options.debug && error instanceof Error && error.stack ? { stack: error.stack } : {}) };
    output.json({ version: 1, error: { message, details, ...internal }, exitCode });
    return exitCode;
  }
  if (known) {
    output.err(`error: ${message}`);
    for (const line of details) output.err(`  ${line}`);
    return exitCode;
  }
  output.err(`internal error: ${message}${options.debug ? "" : " (run with --debug for the stack trace)"}`);
  if (options.debug && error instanceof Error && error.stack) output.err(error.stack);
  return 1;
}
