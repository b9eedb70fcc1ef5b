// Writes rendered files under out/<env>/ mirroring their server paths, plus manifest.json.
// Everything goes to a temp folder first and is swapped in with renames, so a failure leaves out/<env>/ as it was.
// Synchronous: a few dozen small operations, each cheaper than a round trip through the thread pool.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Manifest, RenderedFile } from "../types.js";

export function writeRenderedTree(outDir: string, files: RenderedFile[], manifest: Manifest): void {
  const target = resolve(outDir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${manifestName(target)}.staging-${process.pid}`);
  const previous = join(parent, `.${manifestName(target)}.previous-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const file of files) writeOne(staging, file);
    writeFileSync(join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    try {
      renameSync(target, previous);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    renameSync(staging, target);
    rmSync(previous, { recursive: true, force: true });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

function writeOne(root: string, file: RenderedFile): void {
  const local = join(root, file.path);
  mkdirSync(dirname(local), { recursive: true });
  if (file.kind === "symlink") {
    symlinkSync(file.linkTarget!, local);
    return;
  }
  // Locally, files holding secrets are readable by their owner only; others need no special mode here.
  writeFileSync(local, file.content, { mode: file.secret ? 0o600 : 0o644 });
}

function manifestName(path: string): string {
  return path.split("/").pop() || "out";
}
