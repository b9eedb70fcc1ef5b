// What pruning removes and keeps, from the releases as listed (their deployment.json, the processes that use them)
// and the release log: the cases met on a real server (issue 19), without a server.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { serverShell } from "../server/server-shell.js";
import type { ReleaseLogEntry } from "./release-history.js";
import { planPrune, pruneReleases, releasesToPrune, withReleaseLog, type ReleaseInfo } from "./releases.js";

const ids = ["20261201T090000Z", "20261201T100000Z", "20261201T110000Z", "20261201T120000Z", "20261201T130000Z", "20261201T140000Z"];
const [A, B, C, D, E, F] = ids as [string, string, string, string, string, string];

function listed(live: string, options: { unfinished?: string[]; inUse?: Record<string, number[]> } = {}): ReleaseInfo[] {
  return ids.map((id) => ({
    id,
    live: id === live,
    ...(options.unfinished?.includes(id) ? {} : { deployment: { release: id } }),
    status: "good",
    inUse: options.inUse?.[id] ?? [],
  }));
}
const entry = (release: string, result: ReleaseLogEntry["result"], command: ReleaseLogEntry["command"] = "deploy"): ReleaseLogEntry => ({
  at: "t",
  who: "ada@laptop",
  command,
  release,
  result,
});

describe("pruning", () => {
  test("after three deploys switched back and a good one, keeps the good release before it (issue 19)", () => {
    // A good; B, C, D switched back to A; E good: keep 3 once kept C, D, E and removed A, the previous release.
    const releases = withReleaseLog(listed(E).slice(0, 5), [
      entry(A, "deployed"),
      entry(B, "rolled-back"),
      entry(C, "rolled-back"),
      entry(D, "rolled-back"),
      entry(E, "deployed"),
    ]);
    assert.deepEqual(releasesToPrune(releases, 3), [B]);
    assert.deepEqual(planPrune(releases, 3), { removed: [B], keptInUse: [], previous: A });
  });

  test("keeps every release a process still uses, and says which were kept for that", () => {
    const releases = withReleaseLog(
      listed(F, { inUse: { [A]: [812, 813], [C]: [900] } }),
      ids.map((id) => entry(id, "deployed")),
    );
    assert.deepEqual(planPrune(releases, 1), {
      removed: [B, D],
      keptInUse: [
        { id: A, pids: [812, 813] },
        { id: C, pids: [900] },
      ],
      previous: E,
    });
  });

  test("removes unfinished releases unless live or in use, and never counts them toward keep", () => {
    const releases = withReleaseLog(listed(D, { unfinished: [B, E, F], inUse: { [F]: [77] } }), []);
    assert.deepEqual(releasesToPrune(releases, 2), [A, B, E]);
  });

  test("keeps the live release when newer ones fill keep (rolled back to an old one)", () => {
    const releases = withReleaseLog(
      listed(A),
      ids.map((id) => entry(id, "deployed")),
    );
    assert.deepEqual(releasesToPrune(releases, 2), [B, C, D]);
  });

  test("counts a live release without deployment.json toward keep", () => {
    // F is live but unfinished (switched to by hand); E failed, so D is the previous release.
    const releases = withReleaseLog(listed(F, { unfinished: [F] }), [...[A, B, C, D].map((id) => entry(id, "deployed")), entry(E, "failed")]);
    assert.deepEqual(planPrune(releases, 1), { removed: [A, B, C, E], keptInUse: [], previous: D });
  });

  test("keeps the newest good release when nothing is live", () => {
    const releases = withReleaseLog(
      listed("none").slice(0, 4),
      [A, B, C, D].map((id) => entry(id, id === A ? "deployed" : "failed")),
    );
    assert.deepEqual(releasesToPrune(releases, 1), [B, C]);
  });
});

describe("the listing with the release log", () => {
  test("gives each release its status, the record that judged it and who deployed it first", () => {
    const log = [entry(A, "deployed"), { ...entry(B, "rolled-back"), who: "bob@ci" }, entry(A, "switched", "rollback")];
    const [a, b, c] = withReleaseLog(listed(A).slice(0, 3), log);
    assert.deepEqual([a!.status, a!.lastRecord, a!.deployedBy], ["good", log[2], "ada@laptop"]);
    assert.deepEqual([b!.status, b!.deployedBy], ["rolled-back", "bob@ci"]);
    assert.deepEqual([c!.status, c!.lastRecord, c!.deployedBy], ["good", undefined, undefined]);
  });
});

describe("pruning a server's releases folder", () => {
  // The local transport: the real sh and python3 over a temp folder standing in for the server's /.
  const { root, transport } = localServer("prune");
  const SECRETS = { TSOSI_DB_PASSWORD: "prune-test-password", TSOSI_SECRET_KEY: "prune-test-secret-key-0123456789-abcdefghijklmnop" };

  test("removes exactly the releases planPrune names, and nothing when it names none", async () => {
    const env = (await loadEnvironment("prod", { environmentsDir: `${packageRoot}/environments`, processEnv: SECRETS })).environment;
    const shell = serverShell(transport, env);
    const releases = join(root, env.paths.releases);
    for (const id of [A, B, C, D, E]) {
      mkdirSync(join(releases, id, env.paths.publicDir), { recursive: true });
      writeFileSync(join(releases, id, env.paths.publicDir, "deployment.json"), JSON.stringify({ release: id }));
    }
    mkdirSync(join(releases, "not-a-release"));
    symlinkSync(`${env.paths.releases}/${E}`, join(root, env.paths.current));
    writeFileSync(join(releases, "releases.log"), [A, B, C, D, E].map((id) => `${JSON.stringify(entry(id, "deployed"))}\n`).join(""));
    const left = () => readdirSync(releases).sort();

    assert.deepEqual(await pruneReleases(shell, env, 2), { removed: [A, B, C], keptInUse: [], previous: D });
    assert.deepEqual(left(), [D, E, "not-a-release", "releases.log"]);
    assert.deepEqual(await pruneReleases(shell, env, 2), { removed: [], keptInUse: [], previous: D });
    assert.deepEqual(left(), [D, E, "not-a-release", "releases.log"]);
  });
});
