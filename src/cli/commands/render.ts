import { join, relative, resolve } from "node:path";
import { writeRenderedTree } from "../../output/write-output.js";
import { runCrossChecks } from "../../validate/cross-checks.js";
import type { GenCommand } from "../command.js";
import { loadAndRender, project, withEnvironment, type GlobalOptions } from "../environment-options.js";
import { printFiles, printIssues, printRenderSummary, printResult } from "../report.js";
import type { RenderedFile } from "../../types.js";
import { printableContent } from "../../secrets/index.js";
import { selectFiles } from "../select-files.js";

interface RenderArgs {
  env: string;
  out?: string;
  stdout: boolean;
  only?: string;
}

export const renderCommand: GenCommand<RenderArgs> = {
  command: "render [env]",
  describe: "Render the environment's files into out/<env>/ (mirroring server paths) with manifest.json",
  builder: (yargs) =>
    withEnvironment(yargs)
      .option("out", { type: "string", requiresArg: true, describe: "output folder (default: out/<env>)" })
      .option("stdout", { type: "boolean", default: false, describe: "print the files instead of writing them" })
      .option("only", { type: "string", requiresArg: true, describe: "only files whose server path matches this glob (e.g. '**/*.service')" }) as never,
  examples: [
    ["gen render prod", "write out/prod/etc/... and out/prod/manifest.json"],
    ["gen render prod --stdout --only '**/nginx/**'", "print the nginx files"],
  ],
  async run(argv, output) {
    const { loaded, rendered } = await loadAndRender(argv.env, argv);
    const issues = runCrossChecks({ source: loaded.file, environment: loaded.environment, files: rendered.files, folders: rendered.manifest.folders });
    if (issues.length > 0) {
      if (argv.json) printResult(output, "render", { environment: argv.env, ok: false, issues });
      printIssues(output, issues);
      output.err(
        `${loaded.file}: ${issues.length} problem${issues.length === 1 ? "" : "s"} between files; nothing written (gen validate ${argv.env} shows all checks)`,
      );
      return 1;
    }
    const files = selectFiles(rendered.files, argv.only);
    if (rendered.overridden.length > 0) {
      const note = `built-in templates overridden by your templates folder: ${rendered.overridden.join(", ")}`;
      if (argv.stdout || argv.json) output.err(note);
      else output.out(note);
    }
    if (argv.stdout) {
      const shown = (f: RenderedFile) => printableContent(f, argv["show-secrets"] ?? false);
      if (argv.json)
        printResult(
          output,
          "render",
          // `shown` is read before it is left out: without it printableContent would print the real content.
          { environment: argv.env, ok: true, files: files.map((f) => ({ ...withoutShown(f), content: shown(f) })) },
        );
      else printFiles(output, files, argv["show-secrets"] ?? false);
      return 0;
    }
    const outDir = argv.out ?? defaultOutDir(argv);
    const showSecrets = argv["show-secrets"] ?? false;
    // out/ is a folder anyone may look at, copy or commit: it holds what may be shown, a file holding secrets as its
    // placeholder render, unless the values were asked for. The manifest's sha256 stays that of the file on the server.
    const placeholders = new Set(showSecrets ? [] : files.filter((f) => f.shown !== undefined).map((f) => f.path));
    const written = files.map((f) => (placeholders.has(f.path) ? { ...f, content: f.shown ?? f.content } : f));
    const selected = new Set(files.map((f) => f.path));
    const manifest = {
      ...rendered.manifest,
      files: rendered.manifest.files.filter((f) => selected.has(f.path)).map((f) => (placeholders.has(f.path) ? { ...f, placeholders: true as const } : f)),
    };
    writeRenderedTree(resolve(outDir), written, manifest);
    if (argv.json) printResult(output, "render", { environment: argv.env, ok: true, outDir, manifest });
    else printRenderSummary(output, `${argv.env} (${loaded.source})`, files, outDir, showSecrets);
    return 0;
  },
};

/** out/<env> in the project's folder (load/project.ts), shown relative to the working folder. */
function defaultOutDir(argv: RenderArgs & GlobalOptions): string {
  const dir = join(project(argv).root, "out", argv.env);
  const rel = relative(process.cwd(), dir);
  return rel.startsWith("/") ? dir : rel;
}

function withoutShown({ shown: _shown, ...file }: RenderedFile): Omit<RenderedFile, "shown"> {
  return file;
}
