// XDG_CACHE_HOME for the gen processes a test starts: a folder of this test process, removed when it exits, so that
// the suite never writes gen's caches (the bin's V8 code cache among them) into the real ~/.cache.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let home: string | undefined;

export function testCacheHome(): string {
  if (home === undefined) {
    const made = mkdtempSync(join(tmpdir(), "gen-test-cache-"));
    process.on("exit", () => rmSync(made, { recursive: true, force: true }));
    home = made;
  }
  return home;
}
