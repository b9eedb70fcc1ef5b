// The folder step's own defence, run by the real sh as root on a temp root: a link put in place at the worst
// moment (after the components were checked, before the folder is opened) makes it refuse, changing nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";
import { linkProblems, linkRefusal, parseFolderStep, pathComponents, refusalLines, safeFolderLines } from "./link-safe.js";
import type { ServerShell } from "./server-shell.js";

const root = mkdtempSync(join(tmpdir(), "gen-link-safe-"));
after(() => rmSync(root, { recursive: true, force: true }));
const shell = { path: (p: string) => quoteArg(pathUnderRoot(root, p)), quote: quoteArg } as ServerShell;
const FOLDER = { path: "/home/gen-test/tsosi_errors", owner: "gen-test", group: "gen-test", mode: "0755" };

function sh(script: string): { status: number | null; stdout: string } {
  const run = spawnSync("sh", ["-c", script], { encoding: "utf8", timeout: 10_000 });
  assert.equal(run.signal, null, "still running after 10 s");
  return { status: run.status, stdout: run.stdout };
}

function rootOnlyFolder(name: string): string {
  const target = join(root, name);
  mkdirSync(target, { mode: 0o700 });
  writeFileSync(join(target, "key"), "root's\n", { mode: 0o600 });
  return target;
}

function assertUntouched(target: string): void {
  const info = statSync(target);
  assert.deepEqual([info.uid, info.gid, info.mode & 0o7777], [0, 0, 0o700], `${target} was changed`);
  assert.equal(statSync(join(target, "key")).uid, 0);
}

describe("the folder step as root", () => {
  test("needs root", () => assert.equal(process.getuid?.(), 0, "runs as root to chown (npm run test:full, .ci/run)"));

  test("pathComponents lists every prefix", () => {
    assert.deepEqual(pathComponents("/home/gen-test//x/"), ["/home", "/home/gen-test", "/home/gen-test/x"]);
  });

  test("creates the folder and its parents and sets owner and mode", () => {
    const run = sh(safeFolderLines(shell, { ...FOLDER, path: "/a/b/c" }).join("\n"));
    assert.equal(run.status, 0, run.stdout);
    const info = statSync(join(root, "a/b/c"));
    assert.deepEqual([info.isDirectory(), info.mode & 0o7777], [true, 0o755]);
    assert.notEqual(info.uid, 0);
  });

  test("refuses when the folder becomes a link after its components were checked", () => {
    const target = rootOnlyFolder("swap-target");
    mkdirSync(join(root, "home/gen-test/tsosi_errors"), { recursive: true });
    const lines = safeFolderLines(shell, FOLDER);
    const open = lines.findIndex((l) => l.startsWith("cd -P --"));
    // The attacker's move, at the worst moment.
    const swap = `rm -rf ${shell.path(FOLDER.path)} && ln -s ${quoteArg(target)} ${shell.path(FOLDER.path)}`;
    const run = sh([...lines.slice(0, open), swap, ...lines.slice(open)].join("\n"));
    assert.equal(run.status, 3, run.stdout);
    assert.equal(refusedLink(run.stdout), FOLDER.path);
    assertUntouched(target);
  });

  test("fails at once, changing nothing, when the folder becomes a FIFO after its components were checked", () => {
    rmSync(join(root, FOLDER.path), { recursive: true, force: true });
    mkdirSync(join(root, FOLDER.path), { recursive: true });
    const lines = safeFolderLines(shell, FOLDER);
    const open = lines.findIndex((l) => l.startsWith("cd -P --"));
    const swap = `rm -rf ${shell.path(FOLDER.path)} && mkfifo ${shell.path(FOLDER.path)}`;
    const run = sh([...lines.slice(0, open), swap, ...lines.slice(open)].join("\n"));
    assert.equal(run.status, 1, run.stdout);
    const info = statSync(join(root, FOLDER.path));
    assert.deepEqual([info.isFIFO(), info.uid], [true, 0]);
    rmSync(join(root, FOLDER.path));
  });

  test("refuses a parent that is a link, creating nothing behind it", () => {
    const target = rootOnlyFolder("parent-target");
    mkdirSync(join(root, "p"), { recursive: true });
    symlinkSync(target, join(root, "p/gen-test"));
    const run = sh(safeFolderLines(shell, { ...FOLDER, path: "/p/gen-test/tsosi_errors" }).join("\n"));
    assert.equal(run.status, 3, run.stdout);
    assert.equal(refusedLink(run.stdout), "/p/gen-test");
    assertUntouched(target);
    assert.equal(spawnSync("ls", ["-A", target], { encoding: "utf8" }).stdout, "key\n");
  });

  test("the preflight names every link among the components", () => {
    mkdirSync(join(root, "q"), { recursive: true });
    symlinkSync("/etc", join(root, "q/etc-link"));
    const run = sh(linkProblems(shell, ["/q/etc-link/x", "/q/real"]).join("\n"));
    assert.deepEqual(
      run.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
      [{ kind: "link", path: "/q/etc-link" }],
    );
  });
});

/** The first link a script refused, its output read as the folder step's. */
function refusedLink(stdout: string): string | undefined {
  const parsed = parseFolderStep("the folder step", stdout);
  return parsed.ok ? parsed.value.link : undefined;
}

describe("the folder step's answer and a failed step's lines", () => {
  test("the folder step's answer is the link it refused, nothing when it printed nothing, and an error for other output", () => {
    assert.deepEqual(parseFolderStep("s", '{"kind":"link","path":"/srv/x"}\n'), { ok: true, value: { link: "/srv/x" } });
    assert.deepEqual(parseFolderStep("s", ""), { ok: true, value: {} });
    const other = parseFolderStep("fixing /srv on h", "chown: changing ownership\n");
    assert.equal(other.ok, false);
    assert.match(!other.ok ? other.error.message : "", /^fixing \/srv on h: the step's output is not what gen expects/);
  });

  test("a link record among a failed step's lines reads as the refusal it stands for; other lines stay as they are", () => {
    assert.deepEqual(refusalLines(["mkdir: cannot create", '{"kind":"link","path":"/srv/it\'s"}', '{"kind":"other"}', "ends with {"]), [
      "mkdir: cannot create",
      linkRefusal("/srv/it's"),
      '{"kind":"other"}',
      "ends with {",
    ]);
    assert.match(linkRefusal("/srv/it's"), /rm '\/srv\/it'\\''s' && mkdir '\/srv\/it'\\''s'/);
  });
});
