// gen init [dir]: a user's environments folder to start from. Refuses to overwrite anything.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { GenError } from "../../errors.js";
import { findProject } from "../../load/project.js";
import type { GenCommand } from "../command.js";
import type { Output } from "../report.js";

interface InitArgs {
  dir?: string;
}

export const initCommand: GenCommand<InitArgs> = {
  command: "init [dir]",
  describe: "Create an environments folder from your Django project: base (on preset:django), prod, a local sandbox, .gitignore, tsconfig, JSON Schema",
  builder: (yargs) =>
    yargs.positional("dir", { type: "string", describe: "the folder to create (default: your environments folder, ./environments)" }) as never,
  examples: [
    ["gen init", "write ./environments/{base,prod,sandbox}.ts and friends"],
    ["gen init deploy", 'write deploy/...; then add "gen": { "environments": "deploy" } to package.json'],
  ],
  async run(argv, output) {
    const { scaffoldFiles } = await import("../../init/scaffold.js");
    const { environmentJsonSchema } = await import("../../../schema/json-schema.js");
    const project = findProject(argv.environments ? { environments: argv.environments } : {});
    const dir = argv.dir ? resolve(argv.dir) : project.environmentsDir;
    const { readDjangoProject } = await import("../../init/read-project.js");
    const django = readDjangoProject(project.root);
    const files = scaffoldFiles(environmentJsonSchema(), django);
    const existing = files.map((f) => join(dir, f.name)).filter((path) => existsSync(path));
    if (existing.length > 0) {
      throw new GenError(`${shown(dir)} already holds ${existing.map((p) => relative(dir, p)).join(", ")}; nothing was written (gen init never overwrites)`);
    }
    await mkdir(dir, { recursive: true });
    // "wx": a file that appeared since the check above is still not overwritten.
    for (const file of files) await writeFile(join(dir, file.name), file.content, { flag: "wx" });
    output.out(`created ${shown(dir)}/: ${files.map((f) => f.name).join(", ")}`);
    if (django.found.length > 0) output.out(`read from the project: ${django.found.join("; ")}`);
    for (const note of django.notes) output.out(`check: ${note}`);
    await ignoreGenFolders(project.root, output);
    if (dir !== project.environmentsDir) {
      output.out(
        `gen looks for environments in ${shown(project.environmentsDir)}: add "gen": { "environments": "${relative(project.root, dir)}" } to ${join(project.root, "package.json")}, or pass --environments ${shown(dir)}`,
      );
    }
    const gen = genCommand();
    const tsc = existsSync(join(project.root, "node_modules", "typescript")) ? "" : "npm i -D typescript, then ";
    output.out(`next: ${gen} render sandbox · ${gen} apply sandbox --yes · ${tsc}npx tsc -p ${shown(dir)} (type-checks the environments)`);
    return 0;
  },
};

/** The project's .gitignore gets the lines it lacks for out/ and .gen-local/ (created when there is none); no line is removed. */
async function ignoreGenFolders(root: string, output: Output): Promise<void> {
  const { PROJECT_IGNORES, withIgnores } = await import("../../init/scaffold.js");
  const file = join(root, ".gitignore");
  const current = existsSync(file) ? await readFile(file, "utf8") : undefined;
  const { text, added } = withIgnores(current, PROJECT_IGNORES);
  if (added.length === 0) return;
  await writeFile(file, text);
  output.out(`${shown(file)}: added ${added.join(" and ")} (rendered files and sandboxes can hold secret values)`);
}

/** How the user runs gen: `npx gen` when it was started from a node_modules/.bin (a project's own gen, as npx starts it). */
function genCommand(): string {
  return /[\\/]node_modules[\\/]\.bin[\\/]/.test(process.argv[1] ?? "") ? "npx gen" : "gen";
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}
