// Writes rendered files under out/<env>/ mirroring their server paths, plus manifest.json.
// Everything goes to a temp folder first and is swapped in with renames, so a failure leaves out/<env>/ as it was.
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Manifest, RenderedFile } from "../types.js";

export async function writeRenderedTree(outDir: string, files: RenderedFile[], manifest: Manifest): Promise<void> {
  const target = resolve(outDir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const staging = join(parent, `.${manifestName(target)}.staging-${process.pid}`);
  const previous = join(parent, `.${manifestName(target)}.previous-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    for (const file of files) await writeOne(staging, file);
    await writeFile(join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    await rename(target, previous).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
    await rename(staging, target);
    await rm(previous, { recursive: true, force: true });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function writeOne(root: string, file: RenderedFile): Promise<void> {
  const local = join(root, file.path);
  await mkdir(dirname(local), { recursive: true });
  if (file.kind === "symlink") {
    await symlink(file.linkTarget!, local);
    return;
  }
  // Locally, files holding secrets are readable by their owner only; others need no special mode here.
  await writeFile(local, file.content, { mode: file.secret ? 0o600 : 0o644 });
}

function manifestName(path: string): string {
  return path.split("/").pop() || "out";
}
