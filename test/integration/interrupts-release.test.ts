// gen deploy and gen rollback stopped by a signal at points spread over a run, through the bin (signals to gen's
// process group, as a terminal sends them): each run leaves `current` on the release live before or on the new one
// (a whole release: no release folder without its deployment.json), no lock, says which on its host, and
// ends by the signal once it did its part, as its default action ends it (or, before any host was being changed,
// at once).
// In the sandbox, gen's sample app: deploys interrupted at their steps and at fractions of a measured deploy; the
// new release folder appearing (step 5 under way, round trips before the switch) must end with it removed; "[6/9]"
// printed (the switch, the restarts and the smoke checks are sent right after, in one round trip) must end with the
// deploy finished, and "[7/9]" (printed once that round trip answered) leaves it finished or done. Rollbacks at
// fractions of a measured one. Over SSH: a deploy whose folder appears (removed), one whose restart is under way
// (finished), a rollback whose restart is under way (finished), and, in this process, a rollback whose question
// ends because a signal came (nothing changed).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InterruptedError } from "../../src/interrupt.js";
import { packageRoot } from "../../src/paths.js";
import { rollbackRelease } from "../../src/release/rollback-release.js";
import { runInterrupted, spreadOver, type InterruptedRun, type Interruption } from "../support/interrupted-run.js";
import { afterRelease, CURRENT, openServerInProcess, RELEASES, STATE_DIR, startDeployServer, type DeployServer } from "./deploy-support/deploy-server.js";

type Signal = "SIGINT" | "SIGTERM" | "SIGHUP";
type Ending = "before the switch" | "finished";

/** A server's releases folder as this machine sees it. */
interface Releases {
  host: string;
  dir: string;
  current: string;
  lock: string;
  args: (command: string[]) => string[];
  cwd?: string;
}

const live = (r: Releases) => readlinkSync(r.current).split("/").pop()!;
const releaseIds = (r: Releases) => (existsSync(r.dir) ? readdirSync(r.dir).filter((n) => /^\d{8}T\d{6}Z$/.test(n)) : []).sort();

interface Point {
  name: string;
  signal: Signal;
  interruptions: () => Interruption[];
  ending?: Ending;
}

/** What a deploy or rollback left: the problems, and how it ended. */
function judge(r: Releases, command: "deploy" | "rollback", point: Point, before: { live: string; ids: string[] }, run: InterruptedRun) {
  const { signal } = point;
  const problems: string[] = [];
  const now = live(r);
  const ids = releaseIds(r);
  const added = ids.filter((id) => !before.ids.includes(id));
  const switched = now !== before.live;
  for (const id of ids) if (!existsSync(join(r.dir, id, "public/deployment.json"))) problems.push(`release ${id} is half-made (no deployment.json)`);
  if (command === "deploy" && switched && !added.includes(now)) problems.push(`current leads to ${now}, neither the release live before nor the new one`);
  if (command === "deploy" && !switched && added.length > 0) problems.push(`the release live before is still live, yet ${added.join(", ")} was left`);
  if (existsSync(r.lock)) problems.push("gen's lock was left");
  const all = `${run.out}\n${run.err}`;
  let ended: string;
  // Stopped by request: gen said so, did its part, and then ended by the signal, as its default action ends it.
  if (run.signal === signal && run.err.includes(`gen: ${signal}: stopping. No new step starts`)) {
    const stopped = new RegExp(
      `^${r.host}: ${command} interrupted \\(${signal}\\) before (the switch|the release was made|this host was started)[^\\n]*${before.live} is still live`,
      "m",
    );
    // A point that ends "finished" came before the prune (step 9), which a signal leaves to the next deploy.
    const unpruned = point.ending === "finished" ? "; old releases not pruned\\)" : "";
    const finished =
      command === "deploy"
        ? new RegExp(`^${r.host}: release ${now} is live .*\\(${signal} came once current had switched: finished${unpruned}`, "m")
        : new RegExp(`^${r.host}: ${before.live} -> ${now} is live \\(${signal} came once current had switched: finished\\)`, "m");
    ended = switched ? "finished" : "before the switch";
    if (!(switched ? finished : stopped).test(all)) problems.push(`current ${switched ? "switched" : "did not switch"}, but its host does not say "${ended}"`);
  } else if (run.signal === signal) {
    ended = "stopped at once";
    if (switched && !new RegExp(`^${r.host}: .*${now} is live`, "m").test(run.out)) problems.push("stopped at once, yet current switched");
  } else if (run.code === 0) {
    ended = "done before the signal";
    if (!switched) problems.push("exit 0, yet current did not switch");
  } else {
    ended = `exit ${run.code}`;
    problems.push(ended);
  }
  if (point.ending && ended !== point.ending) problems.push(`it must end "${point.ending}"; it ended "${ended}"`);
  return { problems: problems.map((p) => `${signal} at ${point.name}: ${p}\n${run.out}\n${run.err}`), ended };
}

async function interrupted(r: Releases, command: "deploy" | "rollback", point: Point): Promise<string> {
  const ids = releaseIds(r);
  // Release folders are named by the second: the next deploy gets a new one.
  await afterRelease(ids.at(-1) ?? "");
  const before = { live: live(r), ids };
  const args = command === "deploy" ? ["deploy", "--yes"] : ["rollback", "--yes"];
  const run = await runInterrupted(r.args(args), point.interruptions(), r.cwd ? { cwd: r.cwd } : {});
  const { problems, ended } = judge(r, command, point, before, run);
  assert.deepEqual(problems, []);
  return `${command} ${point.signal} at ${point.name}: ${ended}`;
}

async function measured(r: Releases, command: "deploy" | "rollback"): Promise<number> {
  await afterRelease(releaseIds(r).at(-1) ?? "");
  const started = performance.now();
  const run = await runInterrupted(r.args(command === "deploy" ? ["deploy", "--yes"] : ["rollback", "--yes"]), [], r.cwd ? { cwd: r.cwd } : {});
  assert.equal(run.code, 0, run.err);
  return performance.now() - started;
}

const on = (signal: Signal, name: string, at: Interruption["at"], ending?: Ending): Point => ({
  name,
  signal,
  interruptions: () => [{ at, signal }],
  ...(ending ? { ending } : {}),
});

/** True once a release folder that was not there when the run started appears. */
function newRelease(r: Releases): () => boolean {
  const before = releaseIds(r);
  return () => releaseIds(r).some((id) => !before.includes(id));
}

describe("gen deploy and gen rollback interrupted, in the sandbox", { timeout: 20 * 60_000 }, () => {
  const project = mkdtempSync(join(tmpdir(), "gen-interrupts-release-"));
  const root = join(project, ".gen-local/example");
  const r: Releases = {
    host: "local",
    dir: join(root, "var/www/releases"),
    current: join(root, "var/www/current"),
    lock: join(root, "var/lib/gen/tsosi/locks/lock"),
    args: ([command, ...rest]) => [command!, ...rest, ...(command === "deploy" ? ["--repo", "app"] : [])],
    cwd: project,
  };
  before(async () => {
    const app = join(project, "app");
    cpSync(join(packageRoot, "sample-app"), app, { recursive: true });
    const git = (...args: string[]) => execFileSync("git", ["-C", app, "-c", "user.name=Ada Tester", "-c", "user.email=ada@example.org", ...args]);
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-qm", "sample app");
    const apply = await runInterrupted(["apply", "--yes"], [], { cwd: project });
    assert.equal(apply.code, 0, apply.err);
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it("deploy: current stays on the live release or moves to the whole new one, no lock, and it says which", async (t) => {
    const total = await measured(r, "deploy");
    const points: Point[] = [
      // The terminal's Ctrl-C reaches the front end's build too: gen stops by it, not with the build's failure.
      on("SIGINT", "the front-end build under way", { output: /\$ node build\.mjs/ }),
      on("SIGINT", '"[5/9]"', { output: /^\[5\/9\]/m }),
      {
        ...on("SIGTERM", "the new release folder made", { afterMs: 0 }, "before the switch"),
        interruptions: () => [{ at: { when: newRelease(r) }, signal: "SIGTERM" }],
      },
      on("SIGHUP", '"[6/9]"', { output: /^\[6\/9\]/m }, "finished"),
      // Printed once the switch's round trip (restarts and smoke checks with it) answered: what is left is reading it.
      on("SIGINT", '"[7/9]"', { output: /^\[7\/9\]/m }),
      ...spreadOver(0.3, 0.9, 3).map((f) => on("SIGINT", `${Math.round(f * 100)} % of a deploy`, { afterMs: Math.round(total * f) })),
    ];
    const endings: string[] = [];
    for (const point of points) endings.push(await interrupted(r, "deploy", point));
    t.diagnostic(`a deploy took ${Math.round(total)} ms; ${endings.join("; ")}`);
  });

  it("rollback: current stays or moves to the target, no lock, and it says which", async (t) => {
    // Two good releases at least, whatever the deploys before left.
    for (let i = 0; i < 2; i++) await measured(r, "deploy");
    const total = await measured(r, "rollback");
    const endings: string[] = [];
    for (const f of spreadOver(0.5, 0.95, 4)) {
      // Each rollback goes back from the release live now: deploy one more to have one to go back from.
      await measured(r, "deploy");
      endings.push(await interrupted(r, "rollback", on("SIGINT", `${Math.round(f * 100)} % of a rollback`, { afterMs: Math.round(total * f) })));
    }
    t.diagnostic(`a rollback took ${Math.round(total)} ms; ${endings.join("; ")}`);
  });
});

describe("gen deploy and gen rollback interrupted, over SSH", { timeout: 20 * 60_000 }, () => {
  let server: DeployServer;
  let r: Releases;
  before(async () => {
    server = await startDeployServer();
    const connect = ["--environments", server.envDir, "--known-hosts", server.sshd.knownHostsPath, "--identity", server.sshd.clientKeyPath];
    r = {
      host: "127\\.0\\.0\\.1",
      dir: server.file(RELEASES),
      current: server.file(CURRENT),
      lock: server.file(`${STATE_DIR}/locks/lock`),
      args: ([command, ...rest]) => [command!, "t", ...connect, ...rest, ...(command === "deploy" ? ["--repo", server.app.checkout] : [])],
    };
    for (let i = 0; i < 2; i++) await measured(r, "deploy");
  });
  after(async () => {
    await server?.stop();
  });

  /** Gunicorn's restart held until gen said it is stopping: the signal comes while the restarts' round trip is on the server. */
  const duringRestart = (signal: Signal): Point => ({
    name: "Gunicorn's restart under way",
    signal,
    ending: "finished",
    interruptions: () => {
      const hold = server.holdRestarts("tsosi_gunicorn");
      return [
        { at: { when: hold.held }, signal },
        { at: { output: new RegExp(`^gen: ${signal}: stopping`, "m") }, run: hold.release },
      ];
    },
  });

  it("deploy: removed when stopped while its release is built, finished once its restarts are under way", async () => {
    await interrupted(r, "deploy", {
      name: "the new release folder made",
      signal: "SIGINT",
      ending: "before the switch",
      interruptions: () => [{ at: { when: newRelease(r) }, signal: "SIGINT" }],
    });
    await interrupted(r, "deploy", duringRestart("SIGTERM"));
  });

  it("rollback: finished once its restarts are under way", async () => {
    await interrupted(r, "rollback", duringRestart("SIGINT"));
  });

  it("rollback: a signal while it asks (under the lock) changes nothing and releases the lock", async () => {
    const { env, transport } = await openServerInProcess(server);
    const before = live(r);
    const doing: (string | undefined)[] = [];
    let signal: string | undefined;
    const interrupt = {
      get signal() {
        return signal;
      },
      doing: (step: string | undefined) => doing.push(step),
    };
    try {
      const confirm = async () => {
        // As the CLI's question does when a signal comes: it ends, answered no.
        signal = "SIGTERM";
        return false;
      };
      await assert.rejects(
        rollbackRelease(
          env,
          { restartCelery: true, forceUnlock: false, roles: ["web", "worker"] },
          { transport, who: "test", pid: process.pid, now: () => new Date(), confirm, interrupt },
        ),
        (error: Error) => {
          assert.ok(error instanceof InterruptedError, error.message);
          assert.equal(error.message, `interrupted (SIGTERM) before the switch: nothing was changed; ${before} is still live`);
          assert.equal(error.exitCode, 143);
          return true;
        },
      );
    } finally {
      await transport.close();
    }
    assert.equal(live(r), before);
    assert.equal(existsSync(r.lock), false);
    assert.deepEqual(doing, ["taking the lock and listing the releases", "asking", "releasing the lock", undefined]);
  });
});
