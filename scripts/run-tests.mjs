// Runs every compiled test file (dist/**/*.test.js) with node's test runner.
// Node 20's `node --test` takes no globs, so the files are listed here.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith(".test.js") ? [path] : [];
  });
}

// The real-server tier (test/real-server: containers with systemd) runs alone, with --real-server: it boots
// containers that want both cores, and it takes minutes.
const realServer = process.argv[2] === "--real-server";
const filter = process.argv.slice(realServer ? 3 : 2);
const tier = (f) => f.includes("/real-server/") === realServer;
const files = findTests("dist")
  .filter((f) => tier(f) && (filter.length === 0 || filter.some((p) => f.includes(p))))
  .sort();
if (files.length === 0) {
  console.error("no test files found under dist/ (did tsc run?)");
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", `--test-concurrency=${realServer ? 1 : 2}`, ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
