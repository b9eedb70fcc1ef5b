// The README's "before the first apply" list is what gen doctor checks for prod, item by item.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { DEFAULT_MIN_FREE_MB } from "../cli/commands/doctor.js";
import { doctorSpec } from "./doctor-checks.js";
import { readinessList } from "./readiness-list.js";

test("the README lists what gen doctor checks for prod, with the same fixes", async () => {
  const loaded = await loadEnvironment("prod", { environmentsDir: join(packageRoot, "environments"), secrets: false });
  const expected = readinessList(doctorSpec(loaded.environment, { envName: "prod", roles: ["web", "worker"], root: "/", minFreeMb: DEFAULT_MIN_FREE_MB }));
  const readme = readFileSync(join(packageRoot, "README.md"), "utf8");
  const block = /<!-- gen doctor prod: begin -->\n([\s\S]*?)\n<!-- gen doctor prod: end -->/.exec(readme);
  assert.ok(block, "README.md has no <!-- gen doctor prod: begin --> ... end block");
  assert.equal(block[1], expected.join("\n"), `README.md's list differs from gen doctor's checks; it should read:\n${expected.join("\n")}`);
});
