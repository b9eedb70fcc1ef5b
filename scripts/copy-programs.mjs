// Copies the programs gen runs with python3 or sh (src/**/*.py and *.sh, Python's tests left out) beside their
// compiled modules in dist/src, where src/program-text.ts reads them when gen runs from dist/ (the tests), and removes
// copies whose source is gone. The bundle does not read these copies at run time: scripts/bundle.mjs inlines them.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

const isProgram = (file) => /\.(py|sh)$/.test(file) && !/(^|\/)test_[^/]*\.py$/.test(file);

for (const file of readdirSync("src", { recursive: true, encoding: "utf8" })) {
  if (!isProgram(file) || file.split("/").includes("__pycache__")) continue;
  mkdirSync(join("dist/src", dirname(file)), { recursive: true });
  copyFileSync(join("src", file), join("dist/src", file));
}
if (existsSync("dist/src")) {
  for (const file of readdirSync("dist/src", { recursive: true, encoding: "utf8" })) {
    if (/\.(py|sh)$/.test(file) && !(isProgram(file) && existsSync(join("src", file)))) rmSync(join("dist/src", file));
  }
}
