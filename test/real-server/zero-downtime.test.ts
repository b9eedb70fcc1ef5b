// Zero downtime on a real server: a request loop through nginx (25 requests a second, every 75th a long one of 10 s, longer than systemd used to wait for Gunicorn to stop)
// runs while gen deploys, applies a change that restarts Gunicorn, and rolls back. Not one request may fail, the
// long ones included. The figures (failed requests, slowest short and long response) are printed for the README.
// An apply that changes the socket unit cannot keep the connections queued in the old socket: the plan says so.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LoadSummary } from "./support/load-loop.js";
import { REAL_SERVER, type RealServer, startRealServer } from "./support/real-server.js";

const ENV = REAL_SERVER.envName;
let server: RealServer;
const figures: Record<string, LoadSummary> = {};

before(async () => {
  server = await startRealServer((line) => console.error(`# ${line}`));
  await server.container.exec(["usermod", "-aG", "www-data", "deployer"]);
  const applied = await server.gen(["apply", ENV, "--yes"]);
  assert.equal(applied.code, 0, applied.out + applied.err);
  await server.commit("first release");
  const deployed = await deploy();
  assert.equal(deployed.code, 0, deployed.out + deployed.err);
});

after(async () => {
  for (const [what, load] of Object.entries(figures))
    console.error(
      `# zero downtime, ${what}: ${load.requests} requests, ${load.failed.length} failed, slowest ${load.slowestMs} ms; ${load.long.requests} long (10 s), slowest ${load.long.slowestMs} ms`,
    );
  await server?.stop();
});

function deploy() {
  return server.gen(["deploy", ENV, "--yes", "--repo", server.project]);
}

function noneFailed(what: string, load: LoadSummary): void {
  figures[what] = load;
  assert.ok(load.requests > 50, `${what}: only ${load.requests} requests`);
  assert.ok(load.long.requests > 0, `${what}: no long request`);
  assert.deepEqual(load.failed, [], `${what}: ${load.failed.length} of ${load.requests} requests failed`);
}

describe("zero downtime under load", { concurrency: 1 }, () => {
  it("a deploy fails no request", async () => {
    await server.commit("second release");
    const { result, load } = await server.underLoad(deploy);
    assert.equal(result.code, 0, result.out + result.err);
    noneFailed("deploy", load);
  });

  it("an apply that restarts Gunicorn fails no request", async () => {
    server.writeEnv({ django: { extra: { DJANGO_LOG_LEVEL: "DEBUG" } } });
    const { result, load } = await server.underLoad(() => server.gen(["apply", ENV, "--yes"]));
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.err, /restart tsosi_gunicorn\.service/);
    noneFailed("apply", load);
  });

  it("a rollback fails no request", async () => {
    const { result, load } = await server.underLoad(() => server.gen(["rollback", ENV, "--yes"]));
    assert.equal(result.code, 0, result.out + result.err);
    noneFailed("rollback", load);
  });

  it("a plan that changes the socket unit says that it interrupts traffic", async () => {
    server.writeEnv({ django: { extra: { DJANGO_LOG_LEVEL: "DEBUG" } }, gunicorn: { socketMode: "0666" } });
    const diff = await server.gen(["diff", ENV]);
    assert.equal(diff.code, 2, diff.out + diff.err);
    assert.match(diff.out + diff.err, /tsosi_gunicorn\.socket.*interrupts/);
    const { result, load } = await server.underLoad(() => server.gen(["apply", ENV, "--yes"]));
    assert.equal(result.code, 0, result.out + result.err);
    figures["apply of a socket change (announced)"] = load;
  });
});
