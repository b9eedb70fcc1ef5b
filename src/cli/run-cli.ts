// Parses argv with yargs, runs one command and returns its exit code. Never exits: main.ts does.
// Parsing and running are two steps: yargs only records which command was chosen, and the command runs after
// the whole command line was found valid, so a mistyped option never reads, writes or connects anything.
import yargs, { type Argv } from "yargs";
import { GenError, type ExitCode } from "../errors.js";
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
  try {
    if (args[0] === COMPLETION_REQUEST) {
      for (const word of completeCommandLine(args.slice(1), COMMANDS)) output.verbatim(word);
      return 0;
    }
    const chosen = await parse(args, output);
    if (!chosen) return 0;
    // What yargs parsed is what the command sees: the Output shows secrets exactly when the command does.
    output = createOutput(sink, { showSecrets: chosen.argv["show-secrets"] === true });
    return await chosen.command.run(chosen.argv as never, output);
  } catch (error) {
    return reportError(error, output, options);
  }
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
    .epilog("Exit status: 0 success, 1 failure, 2 differences (gen diff only), 64 wrong usage, 128 + N stopped by signal N (130: Ctrl-C).");
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
    const commands = COMMANDS.map((c) => c.command.split(" ")[0]!);
    const commandName = chosen?.command.command.split(" ")[0] ?? args.find((a) => commands.includes(a));
    throw usageProblem(failures, args, { commands, ...(commandName ? { command: commandName } : {}), options: commandOptions ?? knownOptions(parser) });
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

export function reportError(error: unknown, output: Output, options: Pick<GlobalOptions, "debug" | "json">): ExitCode {
  const known = error instanceof GenError;
  const exitCode: ExitCode = known ? error.exitCode : 1;
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
