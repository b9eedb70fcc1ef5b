// The server program that stages, installs and restores apply's files, run for real as root by the real python3
// through the local transport in a temp folder: owners, modes, backups, and its refusal of links.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import { parseRootFiles, rootFilesStep, type InstallFile, type RestoreFile, type StageFile } from "./root-files.js";
import { serverShell, type StepOutput } from "./server-shell.js";
import { plainStep, runStep } from "../transport/typed-steps.js";

const { root, transport } = localServer("root-files");
const shell = serverShell(transport, { server: { useSudo: false } } as unknown as Environment);
const at = (path: string) => join(root, path);
// A user and group that exist on every Debian machine, other than root.
const NOBODY = { owner: "nobody", group: "nogroup" };

async function run(job: Parameters<typeof rootFilesStep>[2]): Promise<StepOutput & { records: unknown[] }> {
  const result = await runStep(shell, plainStep(rootFilesStep(shell, "a batch", job)));
  const parsed = parseRootFiles("a batch", result.stdout);
  assert.ok(parsed.ok, `the program's output is records: ${result.stdout}`);
  return { ...result, records: parsed.value };
}

const stage = (files: StageFile[]) => run({ op: "stage", files });
const install = (files: InstallFile[]) => run({ op: "install", files });
const restore = (files: RestoreFile[]) => run({ op: "restore", files });

function rootOnlyFolder(name: string): string {
  const target = at(name);
  mkdirSync(target, { mode: 0o700 });
  writeFileSync(join(target, "key"), "root's\n", { mode: 0o600 });
  return target;
}

describe("the root files program (python3, as root)", () => {
  test("needs root and python3", () => {
    assert.equal(process.getuid?.(), 0, "runs as root to chown (npm run test:full, .ci/run)");
  });

  test("stages every file with its bytes, owner and mode, and a link as a link, creating missing folders", async () => {
    const text = "é ✓ no newline at the end";
    const result = await stage([
      { path: "/etc/a/one.conf", staged: ".gen-stage.1.one.conf", mode: "0640", ...NOBODY, content: text },
      { path: "/etc/a/two.conf", staged: ".gen-stage.1.two.conf", mode: "0600", owner: "root", group: "root", content: "" },
      { path: "/new/b/c/link", staged: ".gen-stage.1.link", mode: "0777", owner: "root", group: "root", link: "../one.conf" },
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(result.records, []);
    assert.equal(readFileSync(at("etc/a/.gen-stage.1.one.conf"), "utf8"), text);
    const one = statSync(at("etc/a/.gen-stage.1.one.conf"));
    assert.deepEqual([one.mode & 0o7777, one.uid === 0, one.gid === 0], [0o640, false, false]);
    assert.equal(statSync(at("etc/a/.gen-stage.1.two.conf")).size, 0);
    assert.equal(readlinkSync(at("new/b/c/.gen-stage.1.link")), "../one.conf");
  });

  test("replaces a staged name left behind, even a link, without writing through it", async () => {
    const target = rootOnlyFolder("kept-safe");
    mkdirSync(at("etc/c"), { recursive: true });
    symlinkSync(join(target, "key"), at("etc/c/.gen-stage.2.x"));
    const result = await stage([{ path: "/etc/c/x", staged: ".gen-stage.2.x", mode: "0644", owner: "root", group: "root", content: "new\n" }]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(readFileSync(join(target, "key"), "utf8"), "root's\n");
    assert.equal(lstatSync(at("etc/c/.gen-stage.2.x")).isFile(), true);
  });

  test("refuses a folder on the way that is a link, naming it as a server path, and writes nothing through it", async () => {
    const target = rootOnlyFolder("link-target");
    mkdirSync(at("srv"), { recursive: true });
    symlinkSync(target, at("srv/site"));
    const result = await stage([
      { path: "/srv/site/inner/x.conf", staged: ".gen-stage.3.x.conf", mode: "0644", owner: "root", group: "root", content: "secret-value\n" },
    ]);
    assert.equal(result.exitCode, 3, result.stderr);
    assert.deepEqual(result.records, [{ kind: "link", path: "/srv/site" }]);
    assert.deepEqual(readdir(target), ["key"]);
    assert.doesNotMatch(result.stdout + result.stderr, /secret-value/);
  });

  test("installs with an atomic rename, keeping the previous version (bytes, owner, mode, time) and a previous link as a link", async () => {
    mkdirSync(at("etc/d"), { recursive: true });
    writeFileSync(at("etc/d/old.conf"), "old\n", { mode: 0o640 });
    const old = statSync(at("etc/d/old.conf"));
    utimesSync(at("etc/d/old.conf"), new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
    symlinkSync("old.conf", at("etc/d/enabled"));
    const staged = await stage([
      { path: "/etc/d/old.conf", staged: ".gen-stage.4.old.conf", mode: "0644", owner: "root", group: "root", content: "new\n" },
      { path: "/etc/d/enabled", staged: ".gen-stage.4.enabled", mode: "0777", owner: "root", group: "root", link: "new.conf" },
      { path: "/etc/d/fresh.conf", staged: ".gen-stage.4.fresh.conf", mode: "0644", owner: "root", group: "root", content: "fresh\n" },
    ]);
    assert.equal(staged.exitCode, 0, staged.stderr);
    const result = await install([
      { path: "/etc/d/old.conf", staged: ".gen-stage.4.old.conf", backup: "/state/backups/4/etc/d/old.conf" },
      { path: "/etc/d/enabled", staged: ".gen-stage.4.enabled", backup: "/state/backups/4/etc/d/enabled" },
      { path: "/etc/d/fresh.conf", staged: ".gen-stage.4.fresh.conf", backup: "/state/backups/4/etc/d/fresh.conf" },
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(result.records, [
      { kind: "moved", path: "/etc/d/old.conf", kept: true },
      { kind: "moved", path: "/etc/d/enabled", kept: true },
      { kind: "moved", path: "/etc/d/fresh.conf", kept: false },
    ]);
    assert.equal(readFileSync(at("etc/d/old.conf"), "utf8"), "new\n");
    assert.equal(readlinkSync(at("etc/d/enabled")), "new.conf");
    const backup = statSync(at("state/backups/4/etc/d/old.conf"));
    assert.equal(readFileSync(at("state/backups/4/etc/d/old.conf"), "utf8"), "old\n");
    assert.deepEqual([backup.mode & 0o7777, backup.uid, backup.mtime.toISOString()], [old.mode & 0o7777, old.uid, "2020-01-02T03:04:05.000Z"]);
    assert.equal(readlinkSync(at("state/backups/4/etc/d/enabled")), "old.conf");
    assert.deepEqual(readdir(at("etc/d")), ["enabled", "fresh.conf", "old.conf"]);
  });

  test("stops at the first file it cannot move, having reported each file moved before it", async () => {
    mkdirSync(at("etc/e"), { recursive: true });
    await stage([{ path: "/etc/e/a", staged: ".gen-stage.5.a", mode: "0644", owner: "root", group: "root", content: "a\n" }]);
    const result = await install([
      { path: "/etc/e/a", staged: ".gen-stage.5.a", backup: "/state/backups/5/etc/e/a" },
      { path: "/etc/e/b", staged: ".gen-stage.5.b", backup: "/state/backups/5/etc/e/b" },
    ]);
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.records, [{ kind: "moved", path: "/etc/e/a", kept: false }]);
    assert.match(result.stderr, /^gen: install failed: No such file or directory/);
  });

  test("refuses to install through a folder swapped for a link after staging", async () => {
    const target = rootOnlyFolder("swap-target");
    mkdirSync(at("etc/f"), { recursive: true });
    await stage([{ path: "/etc/f/x", staged: ".gen-stage.6.x", mode: "0644", owner: "root", group: "root", content: "x\n" }]);
    rmSync(at("etc/f"), { recursive: true });
    symlinkSync(target, at("etc/f"));
    writeFileSync(join(target, ".gen-stage.6.x"), "planted\n");
    const result = await install([{ path: "/etc/f/x", staged: ".gen-stage.6.x", backup: "/state/backups/6/etc/f/x" }]);
    assert.equal(result.exitCode, 3);
    assert.deepEqual(result.records, [{ kind: "link", path: "/etc/f" }]);
    assert.deepEqual(readdir(target), [".gen-stage.6.x", "key"]);
  });

  test("restores each file from its backup, removes the new ones, and goes on past one it cannot restore", async () => {
    mkdirSync(at("etc/g"), { recursive: true });
    mkdirSync(at("state/backups/7/etc/g"), { recursive: true });
    writeFileSync(at("etc/g/changed"), "new\n");
    writeFileSync(at("state/backups/7/etc/g/changed"), "old\n", { mode: 0o600 });
    writeFileSync(at("etc/g/added"), "added\n");
    const result = await restore([
      { path: "/etc/g/missing-backup", backup: "/state/backups/7/etc/g/missing-backup" },
      { path: "/etc/g/changed", backup: "/state/backups/7/etc/g/changed" },
      { path: "/etc/g/added" },
    ]);
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.records, [
      { kind: "restored", path: "/etc/g/changed" },
      { kind: "removed", path: "/etc/g/added" },
    ]);
    assert.match(result.stderr, /gen: restoring \/etc\/g\/missing-backup: No such file or directory/);
    assert.equal(readFileSync(at("etc/g/changed"), "utf8"), "old\n");
    assert.equal(statSync(at("etc/g/changed")).mode & 0o7777, 0o600);
    assert.deepEqual(readdir(at("etc/g")), ["changed"]);
  });

  test("reports a path whatever its characters as the same string", async () => {
    const path = '/etc/h/odd "name" \\ tab\there é';
    const staged = ".gen-stage.9.odd";
    assert.equal((await stage([{ path, staged, mode: "0644", owner: "root", group: "root", content: "x\n" }])).exitCode, 0);
    const result = await install([{ path, staged, backup: `/state/backups/9${path}` }]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(result.records, [{ kind: "moved", path, kept: false }]);
    assert.equal(readFileSync(at(path.slice(1)), "utf8"), "x\n");
  });

  test("a path with .. cannot climb out of the transport's root", async () => {
    const result = await stage([{ path: "/../../x-outside", staged: ".gen-stage.8.x", mode: "0644", owner: "root", group: "root", content: "x\n" }]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(readFileSync(at(".gen-stage.8.x"), "utf8"), "x\n");
  });

  test("output that is not its records is an error naming the step", () => {
    const parsed = parseRootFiles("moving the files into place on h", '{"kind":"moved","path":"/x"}\n');
    assert.equal(parsed.ok, false);
    assert.match(!parsed.ok ? parsed.error.message : "", /^moving the files into place on h: the step's output is not what gen expects/);
  });
});

describe("the program each operation sends", () => {
  const program = (op: "probe" | "locked-probe" | "stage" | "install" | "restore") => {
    const lock = { kind: "lock" as const, stateDir: "/s", holder: "{}", group: "g" };
    const step = rootFilesStep(shell, "a batch", op === "locked-probe" ? { op, files: [lock] } : { op, files: [] });
    const size = Number(/ (\d+) \d+ [\w-]+$/.exec(step.script)?.[1]);
    return Buffer.from(step.stdin as Buffer)
      .subarray(0, size)
      .toString("utf8");
  };

  test("holds only its operation's part of root_files.py, and no name it does not define (pyflakes3)", () => {
    const probe = program("probe");
    const writing = program("stage");
    assert.match(probe, /^def probe_entry\(/m);
    assert.doesNotMatch(probe, /^def (stage|install|restore|copy_entry|take_lock)\(/m);
    assert.match(program("locked-probe"), /^def take_lock\(/m);
    assert.match(writing, /^def copy_entry\(/m);
    assert.doesNotMatch(writing, /^def (probe|probe_entry|take_lock)\(/m);
    for (const op of ["probe", "locked-probe", "stage", "install", "restore"] as const) {
      const run = spawnSync("pyflakes3", [], { input: program(op), encoding: "utf8" });
      assert.equal(run.error, undefined, "pyflakes3 is not installed: apt-get install pyflakes3 (npm run test:full installs it)");
      assert.equal(run.stdout + run.stderr, "", op);
    }
  });
});

function readdir(path: string): string[] {
  return readdirSync(path).sort();
}

// The install, stopped before its last file, puts back what it moved: the session that runs it ended (its output is
// gone, as when gen stops at once or the connection drops: sshd sends a command without a terminal no signal), or a
// signal came. To stop it at a known point without timing, its output is not read: the program blocks once the pipe
// is full (64 KiB), long before its last file, whose records take twice that.
describe("the install program, stopped before its last file", () => {
  const COUNT = 600;
  /** Half the files exist (a backup is kept), half are new; names long enough that the records fill the pipe. */
  async function prepared(folder: string): Promise<{ files: InstallFile[]; target: (i: number) => string }> {
    const name = (i: number) => `f${String(i).padStart(4, "0")}-${"x".repeat(180)}`;
    const target = (i: number) => at(`${folder}/${name(i)}`);
    mkdirSync(at(folder), { recursive: true });
    for (let i = 0; i < COUNT; i += 2) writeFileSync(target(i), `old ${i}\n`);
    const staged = await stage(
      Array.from({ length: COUNT }, (_, i) => ({
        path: `/${folder}/${name(i)}`,
        staged: `.s${i}`,
        mode: "0644",
        owner: "root",
        group: "root",
        content: `new ${i}\n`,
      })),
    );
    assert.equal(staged.exitCode, 0, staged.stderr);
    const files = Array.from({ length: COUNT }, (_, i) => ({ path: `/${folder}/${name(i)}`, staged: `.s${i}`, backup: `/state/backups/${folder}/${name(i)}` }));
    return { files, target };
  }

  /** Starts the program as the session's shell would (the step's script with its input), its output unread. */
  function started(files: InstallFile[]) {
    const step = rootFilesStep(shell, "moving the files into place", { op: "install", files });
    const child = spawn("sh", ["-c", step.script], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end(step.stdin);
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    return { child, exited };
  }

  /** Waits until the program moved at least one file (it then goes on until the pipe is full). */
  async function movedSome(target: (i: number) => string): Promise<void> {
    while (!readFileSync(target(0), "utf8").startsWith("new")) await sleep(5);
  }

  function assertPutBack(target: (i: number) => string, folder: string): void {
    for (let i = 0; i < COUNT; i++) {
      if (i % 2 === 0) assert.equal(readFileSync(target(i), "utf8"), `old ${i}\n`, `file ${i} is its old version`);
      else assert.equal(existsSync(target(i)), false, `new file ${i} is gone`);
    }
    // Nothing of the install is left beside the files: neither a copy on its way back nor a staged file.
    assert.deepEqual(
      readdir(at(folder)).filter((f) => f.startsWith(".")),
      [],
    );
  }

  test("when its session ends (its output is closed), puts back every file it moved and exits 4", async () => {
    const { files, target } = await prepared("etc/gone");
    const { child, exited } = started(files);
    await movedSome(target);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.destroy();
    assert.equal(await exited, 4, stderr);
    assertPutBack(target, "etc/gone");
  });

  for (const signal of ["SIGHUP", "SIGTERM", "SIGINT"] as const) {
    test(`on ${signal}, puts back every file it moved, says so and exits 4`, async () => {
      const folder = `etc/${signal.toLowerCase()}`;
      const { files, target } = await prepared(folder);
      const { child, exited } = started(files);
      await movedSome(target);
      child.kill(signal);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      assert.equal(await exited, 4, stderr);
      assert.match(stderr, new RegExp(`^gen: install stopped \\(${signal}\\) after \\d+ of ${COUNT} files: putting them back$`, "m"));
      const parsed = parseRootFiles("installing", stdout);
      assert.ok(parsed.ok);
      const moved = parsed.value.filter((r) => r.kind === "moved").map((r) => r.path);
      const putBack = parsed.value.filter((r) => r.kind === "restored" || r.kind === "removed").map((r) => r.path);
      assert.ok(moved.length > 0 && moved.length < COUNT, `${moved.length} moved`);
      assert.deepEqual(putBack, [...moved].reverse());
      assertPutBack(target, folder);
    });
  }

  test("does nothing with an input cut short (the session ended while it was sent), and says so", async () => {
    mkdirSync(at("etc/cut"), { recursive: true });
    writeFileSync(at("etc/cut/a"), "old\n");
    const job = (files: InstallFile[]) => rootFilesStep(shell, "moving the files into place", { op: "install", files });
    assert.equal((await stage([{ path: "/etc/cut/a", staged: ".s-a", mode: "0644", owner: "root", group: "root", content: "new\n" }])).exitCode, 0);
    const whole = job([
      { path: "/etc/cut/a", staged: ".s-a", backup: "/state/backups/cut/a" },
      { path: "/etc/cut/b", staged: ".s-b", backup: "/state/backups/cut/b" },
    ]);
    const staging = rootFilesStep(shell, "staging", {
      op: "stage",
      files: [{ path: "/etc/cut/c", staged: ".s-c", mode: "0644", owner: "root", group: "root", content: "a whole file\n" }],
    });
    // The session ends while the input is sent: the program's standard input ends early.
    for (const [step, cut] of [
      [whole, 10],
      [staging, 3],
    ] as const) {
      const input = Buffer.from(step.stdin as Buffer);
      const child = spawn("sh", ["-c", step.script], { stdio: ["pipe", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      child.stdin.end(input.subarray(0, input.length - cut));
      assert.equal(await exited, 5, stderr);
      assert.match(stderr, /^gen: (install|stage) did nothing: its input was cut short \(\d+ bytes came\)$/m);
    }
    // Or while the program itself is sent: nothing of it runs.
    const child = spawn("sh", ["-c", whole.script], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    child.stdin.end(Buffer.from(whole.stdin as Buffer).subarray(0, 2000));
    assert.equal(await exited, 5, stderr);
    assert.match(stderr, /^gen: the program came cut short$/m);
    assert.equal(readFileSync(at("etc/cut/a"), "utf8"), "old\n");
    assert.deepEqual(readdir(at("etc/cut")), [".s-a", "a"]);
  });

  test("a restore goes to its end whatever signal comes", async () => {
    const { files, target } = await prepared("etc/restore");
    assert.equal((await install(files)).exitCode, 0);
    const step = rootFilesStep(shell, "restoring", {
      op: "restore",
      files: files.map((f, i) => (i % 2 === 0 ? { path: f.path, backup: f.backup } : { path: f.path })),
    });
    const child = spawn("sh", ["-c", step.script], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end(step.stdin);
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Its records fill the pipe too: it is under way and cannot end before the signals.
    while (readFileSync(target(0), "utf8") !== "old 0\n") await sleep(5);
    for (const signal of ["SIGHUP", "SIGTERM", "SIGINT"] as const) child.kill(signal);
    child.stdout.destroy();
    assert.equal(await exited, 0);
    assertPutBack(target, "etc/restore");
  });
});
