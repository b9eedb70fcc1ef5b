// An environment's own templates are read from its folder only: a template (or anything it includes) that is a
// symbolic link, or sits below one, leading out of the folder is refused, so a link to /etc/shadow is never read.
import { existsSync, realpathSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import nunjucks from "nunjucks";
import { GenError } from "../errors.js";
import { compiledOwnTemplate } from "./own-template-cache.js";

/** Why `template` may not be read from `dir`, or undefined when it lies inside it (or does not exist). */
export function templateOutside(dir: string, template: string): string | undefined {
  const base = resolve(dir);
  const full = resolve(base, template);
  if (full !== base && !full.startsWith(base + sep)) return `${template} is outside ${dir}`;
  if (!existsSync(full)) return undefined;
  const real = realpathSync(full);
  const realBase = realpathSync(base);
  const rel = relative(realBase, real);
  if (rel === "" || rel.startsWith("..") || resolve(realBase, rel) !== real)
    return `${template} is a symbolic link (or under one) leading to ${real}, outside ${dir}`;
  return undefined;
}

/** `files` entries name the entry in the message, e.g. files[2].template. */
export function checkTemplateInside(dir: string, template: string, entry: string): void {
  const reason = templateOutside(dir, template);
  if (reason) throw new GenError(`${entry}.template: ${reason}: copy the file into the environments folder instead of linking it`);
}

/** Also hands nunjucks each template compiled, from gen's cache when its text was compiled before. */
export class ContainedLoader extends nunjucks.FileSystemLoader {
  /** `compileOptions`: the options of the Environment the loader serves (the compiled code depends on them). */
  constructor(
    private readonly dir: string,
    private readonly compileOptions: Record<string, unknown>,
  ) {
    super(dir);
  }

  override getSource(name: string): nunjucks.LoaderSource {
    const reason = templateOutside(this.dir, name);
    if (reason) throw new GenError(`template ${reason}: templates are read from the environments folder only`);
    const found = super.getSource(name) as nunjucks.LoaderSource | null;
    if (!found) return found as unknown as nunjucks.LoaderSource;
    const code = { type: "code", obj: compiledOwnTemplate(found.src, found.path, this.compileOptions) };
    return { ...found, src: code as unknown as string };
  }
}
