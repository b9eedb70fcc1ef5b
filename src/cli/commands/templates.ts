// gen templates: gen's built-in templates, and which of them the user's templates folder replaces.
import { join, relative } from "node:path";
import type { GenCommand } from "../command.js";
import { project } from "../environment-options.js";

export const templatesCommand: GenCommand<object> = {
  command: "templates",
  describe: "List gen's built-in templates and those your templates folder overrides (same file name)",
  builder: (yargs) => yargs as never,
  examples: [["gen templates", "which built-ins environments/templates/ replaces"]],
  async run(argv, output) {
    const { builtinTemplates, overriddenTemplates } = await import("../../render/render-environment.js");
    const { templatesDir, environmentsDir } = project(argv);
    const overridden = templatesDir ? overriddenTemplates(templatesDir) : [];
    const rows = builtinTemplates().map((name) => ({ name, overriddenBy: overridden.includes(name) ? join(templatesDir!, name) : undefined }));
    if (argv.json) {
      output.json({ templatesDir: templatesDir ?? null, templates: rows.map((r) => ({ name: r.name, overriddenBy: r.overriddenBy ?? null })) });
      return 0;
    }
    output.out(
      templatesDir
        ? `your templates folder: ${shown(templatesDir)}`
        : `no templates folder (${shown(join(environmentsDir, "templates"))}, or "gen": { "templates": DIR } in package.json)`,
    );
    for (const row of rows) output.out(`  ${row.name.padEnd(26)} ${row.overriddenBy ? `overridden by ${shown(row.overriddenBy)}` : "built-in"}`);
    return 0;
  },
};

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}
