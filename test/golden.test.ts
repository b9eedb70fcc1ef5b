// Rendered prod and staging compared byte for byte with test/golden/<env>/, which mirrors server paths so it can be
// read side by side with the reference files. Regenerate only on purpose: UPDATE_GOLDEN=1 npm test, then review.
import assert from "node:assert/strict";
import { mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { loadEnvironment } from "../src/load/load-environment.js";
import { packageRoot } from "../src/paths.js";
import { renderEnvironment } from "../src/render/render-environment.js";

export const GOLDEN_SECRETS = { TSOSI_DB_PASSWORD: "golden-db-password", TSOSI_SECRET_KEY: "golden-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" };
const goldenRoot = join(packageRoot, "test", "golden");

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => `/${relative(dir, join(e.parentPath, e.name))}`)
    .sort();
}

for (const name of ["prod", "staging"]) {
  test(`${name} renders exactly the reviewed golden files`, async () => {
    const loaded = await loadEnvironment(name, { environmentsDir: join(packageRoot, "environments"), processEnv: GOLDEN_SECRETS, projectRoot: packageRoot });
    const { files, manifest } = renderEnvironment({
      name,
      environment: loaded.environment,
      secrets: loaded.secrets.lookup,
      environmentsDir: loaded.environmentsDir,
      source: loaded.source,
    });
    const dir = join(goldenRoot, name);
    if (process.env.UPDATE_GOLDEN === "1") {
      await rm(dir, { recursive: true, force: true });
      for (const file of files) {
        await mkdir(dirname(join(dir, file.path)), { recursive: true });
        if (file.kind === "symlink") await symlink(file.linkTarget!, join(dir, file.path));
        else await writeFile(join(dir, file.path), file.content);
      }
      await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    }
    assert.deepEqual(
      await listTree(dir),
      [...files.map((f) => f.path), "/manifest.json"].sort(),
      `files in test/golden/${name} (UPDATE_GOLDEN=1 to regenerate)`,
    );
    for (const file of files) {
      const golden = join(dir, file.path);
      if (file.kind === "symlink") assert.equal(await readlink(golden), file.linkTarget);
      else assert.equal(file.content, await readFile(golden, "utf8"), `${file.path} differs from test/golden/${name}${file.path}`);
    }
    assert.equal(`${JSON.stringify(manifest, null, 2)}\n`, await readFile(join(dir, "manifest.json"), "utf8"));
  });
}
