// The release stages' step builders and parsers, run for real through the local transport in a temp folder (the
// real sh and python3, no sshd): switching `current`, listing releases with their deployment.json and
// migrations.json and the processes that use them, pruning to N, the release log, and output a parser cannot read
// as an error naming the step.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import { serverShell } from "../server/server-shell.js";
import { attempt, plainStep, runStep, type TypedStep } from "../transport/typed-steps.js";
import type { Parsed } from "../transport/step-records.js";
import { cloneSteps, createReleaseStep, deploymentJsonStep, parseServerCommit, settingsLinkStep } from "./build-release.js";
import { migrationsFileStep, migrationsStep } from "./migrations.js";
import {
  appendReleaseLogStep,
  listReleasesStep,
  liveReleaseStep,
  LOG_TAIL_BYTES,
  parseReleaseLog,
  parseReleases,
  readReleaseLog,
  readReleaseLogStep,
  releasesToPrune,
  removeReleasesStep,
  switchCurrentStep,
} from "./releases.js";

const { root, transport } = localServer("release-steps");
const manage = join(root, "manage.sh");
const env = {
  server: { useSudo: false },
  paths: { releases: "/srv/app/releases", current: "/srv/app/current", publicDir: "public", backendDir: "backend", config: "/srv/app/config" },
  release: { migrations: [manage, "showmigrations", "--plan"], settingsLink: "tsosi/settings_local.py", repositoryFolder: "backend" },
} as unknown as Environment;
const shell = serverShell(transport, env, { sudo: false });
const where = transport.describe;
const at = (path: string) => join(root, path);
/** A step's value, or the error its parser names. */
const run = <T>(step: TypedStep<T>): Promise<Parsed<T>> => runStep(shell, attempt(step));
const ok = { ok: true, value: undefined };
const ids = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z", "20260104T000000Z"];

/** A finished release: its folders and deployment.json, written by the steps a deploy sends. */
async function makeRelease(id: string, options: { deployment?: boolean } = {}): Promise<void> {
  const dir = `${env.paths.releases}/${id}`;
  assert.deepEqual(await run(createReleaseStep(shell, dir)), { ok: true, value: "made" });
  mkdirSync(at(`${dir}/public`));
  mkdirSync(at(`${dir}/backend`));
  if (options.deployment === false) return;
  const info = {
    commit: { hash: "c0ffee", subject: "s", author: "a", date: "d", branch: "main" },
    serverCommit: "c0ffee",
    deployedAt: "2026-01-01T00:00:00Z",
    release: id,
  } as never;
  assert.deepEqual(await run(deploymentJsonStep(shell, env, dir, info)), ok);
}

describe("release steps through the local transport", () => {
  test("a release folder is made once; a second one of the same id is found taken, and any other failure is an error", async () => {
    mkdirSync(at(env.paths.releases), { recursive: true });
    await makeRelease(ids[0]!);
    const again = await run(createReleaseStep(shell, `${env.paths.releases}/${ids[0]}`));
    assert.deepEqual(again, { ok: true, value: "taken" });
    symlinkSync("/nowhere", at(`${env.paths.releases}/${ids[2]}`));
    assert.deepEqual(await run(createReleaseStep(shell, `${env.paths.releases}/${ids[2]}`)), { ok: true, value: "taken" }, "a dangling link");
    rmSync(at(`${env.paths.releases}/${ids[2]}`));
    const orphan = `${env.paths.releases}/no-such-folder/${ids[1]}`;
    const failed = await run(createReleaseStep(shell, orphan));
    assert.ok(!failed.ok, "a folder whose parent is missing was reported made or taken");
    assert.equal(failed.error.message, `creating ${orphan} failed on ${where} (exit 1)`);
    assert.match(failed.error.details.join("\n"), /No such file or directory/);
    assert.equal(statSync(at(`${env.paths.releases}/${ids[0]}/public/deployment.json`)).mode & 0o777, 0o644);
  });

  test("switching current makes a relative link to the release, read back as the live release", async () => {
    assert.deepEqual(await run(liveReleaseStep(shell, env)), { ok: true, value: undefined });
    const step = switchCurrentStep(shell, env, ids[0]!);
    assert.deepEqual(await run(step), { ok: true, value: undefined });
    assert.equal(readlinkSync(at(env.paths.current)), `releases/${ids[0]}`);
    assert.deepEqual(await run(liveReleaseStep(shell, env)), { ok: true, value: ids[0] });
  });

  test("a switch that fails is an error naming the step and its output", async () => {
    const step = switchCurrentStep(shell, { ...env, paths: { ...env.paths, current: "/no/such/folder/current" } } as Environment, ids[0]!);
    const parsed = await run(step);
    assert.ok(!parsed.ok);
    assert.match(parsed.error.message, /^switching \/no\/such\/folder\/current to 20260101T000000Z failed on local:.* \(exit 1\)$/);
    assert.ok(parsed.error.details.some((d) => d.includes("No such file or directory")));
  });

  test("release.migrations' output becomes migrations.json, listed with the release", async () => {
    writeFileSync(manage, "#!/bin/sh\nprintf '[X]  auth.0001_initial\\n[X]  tsosi.0001_initial\\n[ ]  tsosi.0002_x\\n'\n");
    chmodSync(manage, 0o755);
    const dir = `${env.paths.releases}/${ids[0]}`;
    const applied = await run(migrationsStep(shell, env, dir)!);
    assert.deepEqual(applied, {
      ok: true,
      value: [
        { app: "auth", name: "0001_initial" },
        { app: "tsosi", name: "0001_initial" },
      ],
    });
    assert.deepEqual(await run(migrationsFileStep(shell, env, ids[0]!, applied.ok ? applied.value : [])), ok);
    assert.deepEqual(JSON.parse(readFileSync(at(`${dir}/migrations.json`), "utf8")), { applied: applied.ok ? applied.value : [] });
    const failing = await run(migrationsStep(shell, env, `${env.paths.releases}/none`)!);
    assert.ok(!failing.ok && /failed \(exit 2\): the applied migrations could not be read \(release\.migrations\)$/.test(failing.error.message));
  });

  test("the listing reads every release, its deployment.json and migrations.json, and which one is live", async () => {
    await makeRelease(ids[1]!);
    await makeRelease(ids[2]!, { deployment: false });
    writeFileSync(at(`${env.paths.releases}/${ids[2]}/public/deployment.json`), "{ not json");
    mkdirSync(at(`${env.paths.releases}/not-a-release`));
    const listed = await run(listReleasesStep(shell, env));
    assert.ok(listed.ok);
    assert.deepEqual(
      listed.value.map((r) => [r.id, r.live, r.deployment?.release, r.migrations?.length]),
      [
        [ids[0], true, ids[0], 2],
        [ids[1], false, ids[1], undefined],
        [ids[2], false, undefined, undefined],
      ],
    );
  });

  test("pruning keeps the newest N finished releases and the live one, and removes unfinished ones", async () => {
    await makeRelease(ids[3]!);
    const before = await run(listReleasesStep(shell, env));
    assert.ok(before.ok);
    const doomed = releasesToPrune(before.value, 1);
    // The live one (oldest) stays, the unfinished one goes, the newest stays.
    assert.deepEqual(doomed, [ids[1], ids[2]]);
    assert.deepEqual(await run(removeReleasesStep(shell, env, doomed)), ok);
    const after = await run(listReleasesStep(shell, env));
    assert.deepEqual(after.ok && after.value.map((r) => r.id), [ids[0], ids[3]]);
  });

  test("the settings link points at apply's settings_local.py", async () => {
    const dir = `${env.paths.releases}/${ids[3]}`;
    assert.deepEqual(await run(settingsLinkStep(shell, env, dir)), ok);
    assert.equal(readlinkSync(at(`${dir}/backend/tsosi/settings_local.py`)), at("/srv/app/config/settings_local.py"));
  });

  test("the release log gets one JSON line per entry, quotes and newlines included (read back escaped)", async () => {
    const entry = { at: "t", who: "me", command: "deploy" as const, release: ids[3]!, result: "failed" as const, error: "it said \"no\"\nand 'stopped'" };
    assert.deepEqual(await run(appendReleaseLogStep(shell, env, entry)), ok);
    assert.deepEqual(await run(appendReleaseLogStep(shell, env, { ...entry, result: "deployed" })), ok);
    const read = { ...entry, error: "it said \"no\"\\x0aand 'stopped'" };
    assert.deepEqual(await readReleaseLog(shell, env), [read, { ...read, result: "deployed" }]);
  });

  test("the release log is read from its last MiB only, and an error too long for a line is cut when written", async () => {
    const log = at(`${env.paths.releases}/releases.log`);
    const before = readFileSync(log, "utf8");
    const long = { at: "t", who: "me", command: "deploy" as const, release: ids[2]!, result: "failed" as const, error: "e".repeat(100_000) };
    assert.deepEqual(await run(appendReleaseLogStep(shell, env, long)), ok);
    assert.equal((await readReleaseLog(shell, env)).at(-1)?.error?.length, 2000);
    writeFileSync(log, `${"x".repeat(LOG_TAIL_BYTES)}\n${before}`);
    const read = await runStep(shell, plainStep(readReleaseLogStep(shell, env)));
    assert.ok(read.size <= LOG_TAIL_BYTES, `${read.size} bytes read`);
    assert.deepEqual(
      parseReleaseLog(read).map((e) => e.result),
      ["failed", "deployed"],
    );
    writeFileSync(log, before);
  });

  test("the listing names the processes working in a release or running a program from it", async (t) => {
    const program = at(`${env.paths.releases}/${ids[3]}/backend/worker`);
    copyFileSync("/bin/sleep", program);
    chmodSync(program, 0o755);
    const inCwd = spawn("sleep", ["30"], { cwd: at(`${env.paths.releases}/${ids[0]}/backend`), stdio: "ignore" });
    const fromRelease = spawn(program, ["30"], { cwd: "/", stdio: "ignore" });
    t.after(() => {
      inCwd.kill();
      fromRelease.kill();
    });
    await Promise.all([inCwd, fromRelease].map((child) => new Promise((resolve) => child.once("spawn", resolve))));
    const listed = await run(listReleasesStep(shell, env));
    assert.ok(listed.ok);
    const users = Object.fromEntries(listed.value.map((r) => [r.id, r.inUse]));
    assert.ok(users[ids[0]!]!.includes(inCwd.pid!), `cwd: ${JSON.stringify(users)}`);
    assert.ok(users[ids[3]!]!.includes(fromRelease.pid!), `exe: ${JSON.stringify(users)}`);
    assert.ok(!users[ids[0]!]!.includes(fromRelease.pid!) && !users[ids[3]!]!.includes(inCwd.pid!));
  });

  test("a listing that failed or printed something else is an error naming the step", () => {
    const missing = parseReleases("h", { exitCode: 127, stdout: "", stderr: "sh: python3: not found\n" });
    assert.ok(
      !missing.ok &&
        missing.error.message === "listing the releases failed on h (exit 127)" &&
        missing.error.details[0]!.startsWith("python3 is not installed"),
    );
    const garbled = parseReleases("h", { exitCode: 0, stdout: "20260101T000000Z\n", stderr: "" });
    assert.ok(!garbled.ok && garbled.error.message.startsWith("listing the releases on h: the step's output is not what gen expects"));
  });

  test("the clone chain fetches the commit by hash and keeps only backend/, or names a remote without it", async () => {
    const repo = at("repo");
    const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" }).trim();
    mkdirSync(join(repo, "backend"), { recursive: true });
    writeFileSync(join(repo, "backend/manage.py"), "print('hi')\n");
    writeFileSync(join(repo, "README"), "not deployed\n");
    execFileSync("git", ["init", "--quiet", repo]);
    git("add", ".");
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "--quiet", "-m", "one");
    git("config", "uploadpack.allowAnySHA1InWant", "true");
    const commit = git("rev-parse", "HEAD");
    const withRepo = { ...env, release: { ...env.release, repository: `file://${repo}` } } as Environment;
    const dir = `${env.paths.releases}/20260105T000000Z`;
    mkdirSync(at(dir));
    assert.deepEqual(await runStep(shell, attempt(cloneSteps(shell, withRepo, dir, commit))), { ok: true, value: commit });
    assert.equal(readFileSync(at(`${dir}/backend/manage.py`), "utf8"), "print('hi')\n");
    assert.throws(() => statSync(at(`${dir}/.checkout`)));
    const other = `${env.paths.releases}/20260106T000000Z`;
    mkdirSync(at(other));
    const unknown = "0".repeat(40);
    const refused = await runStep(shell, attempt(cloneSteps(shell, withRepo, other, unknown)));
    assert.ok(
      !refused.ok &&
        refused.error.message ===
          `file://${repo} does not have commit ${unknown} (the one checked locally): push it (git push), or deploy with --source archive`,
    );
    assert.ok(!parseServerCommit("s", "h", { exitCode: 0, stdout: "fatal: not a tar\n", stderr: "" }).ok);
    // A repository whose root is the backend (manage.py at the top): all of it but .git becomes backend/.
    const rooted = { ...withRepo, release: { ...withRepo.release, repositoryFolder: "." } } as Environment;
    const third = `${env.paths.releases}/20260107T000000Z`;
    mkdirSync(at(third));
    assert.deepEqual(await runStep(shell, attempt(cloneSteps(shell, rooted, third, commit))), { ok: true, value: commit });
    assert.deepEqual(readdirSync(at(`${third}/backend`)).sort(), ["README", "backend"]);
    assert.deepEqual(readdirSync(at(third)), ["backend"]);
  });
});
