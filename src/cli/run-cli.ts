// Parses argv with yargs, runs one command and returns its exit code. Never exits: main.ts does.
import yargs from "yargs";
import { GenError, type ExitCode } from "../errors.js";
import { COMMANDS } from "./commands/index.js";
import type { GlobalOptions } from "./environment-options.js";
import { processOutput, type Output } from "./report.js";

export async function runCli(args: string[], output: Output = processOutput): Promise<ExitCode> {
  try {
    return await parseAndRun(args, output);
  } catch (error) {
    return reportError(error, output, { debug: args.includes("--debug") });
  }
}

async function parseAndRun(args: string[], output: Output): Promise<ExitCode> {
  let exitCode: ExitCode | undefined;
  let usageError: string | undefined;
  const parser = yargs(args)
    .scriptName("gen")
    .usage("$0 <command> [env] [options]\n\nTyped server environments rendered, diffed, applied and released.")
    .option("environments", { type: "string", describe: "folder of environment files (default: ./environments)", global: true })
    .option("json", { type: "boolean", describe: "machine-readable output", global: true })
    .option("show-secrets", { type: "boolean", describe: "print secret values instead of [secret:NAME]", global: true })
    .option("debug", { type: "boolean", describe: "show stack traces of internal errors", global: true })
    .strict()
    .demandCommand(1, "name a command (gen --help lists them)")
    .recommendCommands()
    .completion("completion", "print a bash/zsh completion script (gen completion >> ~/.bashrc)")
    .help()
    .alias("h", "help")
    .version(false)
    // Laying out help text costs ~8 ms of start-up; only help needs it.
    .wrap(args.includes("--help") || args.includes("-h") ? Math.min(100, process.stdout.columns || 100) : null)
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      usageError = message;
    })
    .epilog("Exit status: 0 success, 1 invalid environment or failed check, 2 wrong usage.");
  for (const command of COMMANDS) {
    parser.command({
      command: command.command,
      describe: command.describe,
      builder: (y) => {
        const built = command.builder(y as never);
        for (const [example, description] of command.examples ?? []) built.example(example, description);
        return built;
      },
      handler: async (argv) => {
        exitCode = await command.run(argv as never, output);
      },
    });
  }
  for (const [example, description] of COMMANDS.flatMap((c) => c.examples ?? []).slice(0, 4)) parser.example(example, description);

  let helpText = "";
  await parser.parseAsync(args, {}, (_error, _argv, text) => {
    helpText = text;
  });
  if (usageError !== undefined) {
    output.err(`${helpText}\n\n${usageError}`.trim());
    return 2;
  }
  if (helpText) output.out(helpText);
  return exitCode ?? 0;
}

export function reportError(error: unknown, output: Output, options: Pick<GlobalOptions, "debug">): ExitCode {
  if (error instanceof GenError) {
    output.err(`error: ${error.message}`);
    for (const line of error.details) output.err(`  ${line}`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.err(`internal error: ${message}${options.debug ? "" : " (run with --debug for the stack trace)"}`);
  if (options.debug && error instanceof Error && error.stack) output.err(error.stack);
  return 1;
}
