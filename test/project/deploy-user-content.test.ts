// What the deploy user (and so the application) can write on the server, read back by gen as hostile input. In the
// sandbox (the local transport runs the same step scripts as a server's session), through the bin.
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runBin } from "../support/run-bin.js";

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
