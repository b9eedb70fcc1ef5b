// The embedded example's sandbox, run from a folder with no environments by an unprivileged user.
import { chownSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { genBin } from "../support/run-bin.js";
import { genTestUser, sandboxLoop } from "../support/sandbox-loop.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-sandbox-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

test("diff, apply --yes, deploy, releases and rollback run in the sandbox without root or a server", async () => {
  const user = genTestUser(join(temp, "home"));
  chownSync(temp, user.uid, user.gid);
  const dir = join(temp, "project");
  await mkdir(dir);
  chownSync(dir, user.uid, user.gid);
  sandboxLoop(user, [process.execPath, genBin], dir, join(packageRoot, "sample-app"));
});
