// What the deploy user (and so the application) can write on the server, read back by gen as hostile input. In the
// sandbox (the local transport runs the same step scripts as a server's session), through the bin.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { genBin, runBin } from "../support/run-bin.js";
import { testCacheHome } from "../support/test-cache-home.js";

let temp = "";
before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-deploy-user-content-"));
});
after(async () => {
  await rm(temp, { recursive: true, force: true });
});

/** A release in a sandbox of the example, finished (deployment.json) and with the migrations.json given. */
function plantRelease(root: string, id: string, applied: unknown[]): void {
  const release = join(root, "var/www/releases", id);
  mkdirSync(join(release, "public"), { recursive: true });
  mkdirSync(join(release, "backend"), { recursive: true });
  writeFileSync(join(release, "public/deployment.json"), JSON.stringify({ hash: "0".repeat(40), branch: "main", title: id }));
  writeFileSync(join(release, "migrations.json"), JSON.stringify({ applied }));
}

test("rollback prints no command built from a migrations.json the deploy user wrote: names gen would not write make the file unknown", () => {
  const dir = join(temp, "rollback");
  const root = join(dir, ".gen-local", "t");
  mkdirSync(join(dir, "environments"), { recursive: true });
  writeFileSync(
    join(dir, "environments", "t.yaml"),
    [
      "extends: preset:example",
      "server: { transport: local, localRoot: .gen-local/t }",
      "release: { migrations: [python3, manage.py, showmigrations, --plan] }",
      "",
    ].join("\n"),
  );
  const [older, live] = ["20260101T000000Z", "20260102T000000Z"];
  const hostile = "0001_initial; touch /tmp/gen-pwned #";
  // The target's last migration of `core` is what the undo command would take core back to.
  plantRelease(root, older, [
    { app: "core", name: "0001_initial" },
    { app: "core", name: hostile },
  ]);
  plantRelease(root, live, [
    { app: "core", name: "0001_initial" },
    { app: "core", name: "0002_badge" },
    { app: "blog$(id)", name: "0001_initial" },
  ]);
  symlinkSync(`releases/${live}`, join(root, "var/www/current"));

  const run = runBin(["rollback", "t", "--yes"], dir);
  assert.equal(run.code, 0, `${run.out}\n${run.err}`);
  const all = `${run.out}\n${run.err}`;
  assert.doesNotMatch(all, /gen-pwned|\$\(id\)/, all);
  assert.match(run.out, new RegExp(`^local: ${older} has no migrations.json that gen wrote: the migrations it applied are not known$`, "m"));
  assert.match(run.out, new RegExp(`^local: ${live} has no migrations.json that gen wrote: the migrations it applied are not known$`, "m"));
  assert.match(run.out, new RegExp(`${live} -> ${older} is live`));
});

test("releases and rollback read the deploy user's release files and log without following a link, waiting on a FIFO or reading more than a MiB", () => {
  const dir = join(temp, "releases");
  const root = join(dir, ".gen-local", "t");
  mkdirSync(join(dir, "environments"), { recursive: true });
  writeFileSync(join(dir, "environments", "t.yaml"), ["extends: preset:example", "server: { transport: local, localRoot: .gen-local/t }", ""].join("\n"));
  const [fifo, device, huge, live] = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z", "20260104T000000Z"];
  for (const id of [fifo, device, huge, live]) plantRelease(root, id, [{ app: "core", name: "0001_initial" }]);
  const release = (id: string, path: string) => join(root, "var/www/releases", id, path);
  spawnSync("rm", [release(fifo, "public/deployment.json"), release(device, "migrations.json")]);
  spawnSync("mkfifo", [release(fifo, "public/deployment.json")]);
  symlinkSync("/dev/zero", release(device, "migrations.json"));
  writeFileSync(release(huge, "migrations.json"), JSON.stringify({ applied: Array.from({ length: 40_000 }, (_, i) => ({ app: "core", name: `${i}_x` })) }));
  spawnSync("mkfifo", [join(root, "var/www/releases/releases.log")]);
  symlinkSync(`releases/${live}`, join(root, "var/www/current"));

  const result = spawnSync(process.execPath, [genBin, "releases", "t", "--json"], {
    cwd: dir,
    encoding: "utf8",
    timeout: 60_000,
    killSignal: "SIGKILL",
    env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome() },
  });
  assert.equal(result.signal, null, `gen releases was still running after 60 s\n${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  const hosts = (JSON.parse(result.stdout) as { hosts: { releases: { id: string; status: string; migrations?: unknown[] }[] }[] }).hosts;
  const byId = new Map(hosts[0]!.releases.map((r) => [r.id, r]));
  assert.equal(byId.get(fifo)?.status, "unfinished", "a FIFO is no deployment.json");
  assert.equal(byId.get(device)?.migrations, undefined, "a link is not followed");
  assert.equal(byId.get(huge)?.migrations, undefined, "more than a MiB is not read");
  assert.equal(byId.get(live)?.migrations?.length, 1);

  // Appending to the log as the deploy user waits on no FIFO either: the rollback ends, warns and exits 1.
  const rollback = spawnSync(process.execPath, [genBin, "rollback", "t", "--yes"], {
    cwd: dir,
    encoding: "utf8",
    timeout: 60_000,
    killSignal: "SIGKILL",
    env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: testCacheHome() },
  });
  assert.equal(rollback.signal, null, `gen rollback was still running after 60 s\n${rollback.stderr}`);
  assert.equal(rollback.status, 1, rollback.stderr);
  assert.match(rollback.stderr, /could not append to the log \/var\/www\/releases\/releases\.log/);
});
