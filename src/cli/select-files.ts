// --only of gen render and gen diff: the rendered files whose server path matches a glob.
import picomatch from "picomatch";
import { GenError } from "../errors.js";
import type { RenderedFile } from "../types.js";

export function selectFiles(files: RenderedFile[], only: string | undefined): RenderedFile[] {
  if (!only) return files;
  const match = picomatch(only, { dot: true, basename: !only.includes("/") });
  const selected = files.filter((f) => match(f.path));
  if (selected.length === 0)
    throw new GenError(`--only '${only}' matches none of the ${files.length} rendered files`, {
      details: ["gen render --stdout lists their server paths; a glob without / matches the file name"],
    });
  return selected;
}
