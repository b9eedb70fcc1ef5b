// The server program of the smoke checks, run by this machine's python3 against real sockets: a Gunicorn that is
// still starting is waited for, one whose unit stopped is not, and the unit's journal comes back as bounded data.
// The unit is looked at through the spec's own commands (`show`, `status`), here small sh scripts; on a server
// they are systemctl's.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parseSmokeRecord, smokeProgram, type CheckResult } from "./smoke-checks.js";
import { orThrow } from "../transport/step-records.js";

const exec = promisify(execFile);
const GUNICORN_EXITS = { "3": "worker failed to boot" };

interface Scene {
  dir: string;
  socket: string;
  /** Connections the stand-in received. */
  connections: number;
  /** Connections it holds without answering. */
  held: Set<Socket>;
}

/** A folder with a unix socket whose connections `answer` handles; removed afterwards. */
async function withSocket(answer: (socket: Socket, scene: Scene) => void, work: (scene: Scene) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "gen-smoke-"));
  const scene: Scene = { dir, socket: join(dir, "gunicorn.sock"), connections: 0, held: new Set() };
  const server: Server = createServer((socket) => {
    socket.on("error", () => {});
    scene.connections++;
    answer(socket, scene);
  });
  await new Promise<void>((resolve) => server.listen(scene.socket, resolve));
  try {
    await work(scene);
  } finally {
    server.close();
    for (const socket of scene.held) socket.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

const http = (status: number) => (socket: Socket) =>
  socket.once("data", () => socket.end(`HTTP/1.1 ${status} X\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n`));
const hold = (socket: Socket, scene: Scene) => scene.held.add(socket);

/** The unit as `systemctl show` prints it: `state` from the file, so a test can change it while the program runs. */
async function unitCommands(dir: string, journal: string): Promise<{ show: string[]; status: string[] }> {
  await writeFile(join(dir, "state"), "ActiveState=active\nSubState=running\nResult=success\nExecMainStatus=0\n");
  await writeFile(join(dir, "journal"), journal);
  return {
    show: ["sh", "-c", `cat '${join(dir, "state")}'`],
    status: ["sh", "-c", `printf '● x.service\\n   Active: failed\\n\\n'; cat '${join(dir, "journal")}'`],
  };
}

async function runProgram(spec: Record<string, unknown>): Promise<{ checks: CheckResult[]; seconds: number }> {
  const started = performance.now();
  const { stdout } = await exec("python3", ["-c", smokeProgram(), JSON.stringify({ pause: 0.2, units: {}, ...spec })]);
  return { checks: orThrow(parseSmokeRecord({ exitCode: 0, stdout, stderr: "" })), seconds: (performance.now() - started) / 1000 };
}

const gunicornSpec = (scene: Scene) => ({ socket: scene.socket, shownSocket: "/run/app.sock", domain: "app.example", path: "/api/" });

describe("the smoke checks' server program", { concurrency: 4 }, () => {
  it("waits for a Gunicorn that closes connections while it starts, then passes", () =>
    withSocket(
      (socket, scene) => (scene.connections <= 3 ? socket.destroy() : http(200)(socket)),
      async (scene) => {
        const { checks } = await runProgram({ order: ["gunicorn"], timeout: 10, gunicorn: gunicornSpec(scene) });
        assert.deepEqual(checks, [{ name: "gunicorn", status: "ok", detail: "/run/app.sock (Host: app.example, /api/) answered 200" }]);
        assert.equal(scene.connections, 4);
      },
    ));

  it("asks again after a 502, 503 or 504 and fails with the last answer when the time runs out", () =>
    withSocket(http(503), async (scene) => {
      const { checks } = await runProgram({ order: ["gunicorn"], timeout: 2, gunicorn: gunicornSpec(scene) });
      assert.equal(checks[0]!.status, "fail");
      const attempts = /^\/run\/app\.sock \(Host: app\.example, \/api\/\) answered 503 \((\d+) attempts in 2 s\)$/.exec(checks[0]!.detail);
      assert.ok(attempts, checks[0]!.detail);
      assert.equal(Number(attempts[1]), scene.connections, "one connection per attempt");
      // Attempts start at least a pause (0.2 s) apart and only before the 2 s are up: no more than 10, however slow.
      assert.ok(scene.connections >= 2 && scene.connections <= 10, `${scene.connections} attempts`);
    }));

  it("does not ask again after a 500: the application answered", () =>
    withSocket(http(500), async (scene) => {
      const { checks } = await runProgram({ order: ["gunicorn"], timeout: 5, gunicorn: gunicornSpec(scene) });
      assert.equal(checks[0]!.detail, "/run/app.sock (Host: app.example, /api/) answered 500");
      assert.equal(scene.connections, 1);
    }));

  it("stops waiting as soon as the unit failed, naming gunicorn's exit status and keeping its journal as bounded, inert text", () =>
    withSocket(hold, async (scene) => {
      const marker = join(scene.dir, "ran");
      const hostile = [
        "Dec 01 12:00:00 web gunicorn[812]: ImportError: No module named 'missing'",
        `Dec 01 12:00:00 web gunicorn[812]: $(touch ${marker}) \`touch ${marker}\` \u001b[2J\u001b]0;owned\u0007`,
        ...Array.from({ length: 40 }, (_, i) => `Dec 01 12:00:01 web gunicorn[812]: line ${i} ${"x".repeat(1000)}`),
        "Dec 01 12:00:02 web gunicorn[800]: [ERROR] Worker failed to boot.",
      ].join("\n");
      const { show, status } = await unitCommands(scene.dir, `${hostile}\n`);
      const unit = { unit: "app_gunicorn.service", show, status, exitMeanings: GUNICORN_EXITS };
      setTimeout(() => void writeFile(join(scene.dir, "state"), "ActiveState=failed\nSubState=failed\nResult=exit-code\nExecMainStatus=3\n"), 700);
      const { checks, seconds } = await runProgram({ order: ["gunicorn"], timeout: 30, gunicorn: gunicornSpec(scene), units: { gunicorn: unit } });
      assert.ok(seconds < 10, `waited ${seconds} s for a unit that had failed`);
      const [check] = checks;
      assert.equal(check!.status, "fail");
      assert.equal(
        check!.detail,
        "no answer from /run/app.sock (Host: app.example, /api/); app_gunicorn.service failed: worker failed to boot (exit status 3, result exit-code)",
      );
      const journal = check!.journal ?? [];
      assert.equal(journal.length, 20, "the last 20 lines");
      assert.equal(journal.at(-1), "Dec 01 12:00:02 web gunicorn[800]: [ERROR] Worker failed to boot.");
      assert.ok(
        journal.every((l) => l.length <= 400),
        "each line bounded",
      );
      assert.equal(existsSync(marker), false, "nothing in the journal ran");
    }));

  it("keeps control characters of the journal visible, never raw", () =>
    withSocket(hold, async (scene) => {
      const { show, status } = await unitCommands(scene.dir, "gunicorn[1]: \u001b[2J\u001b]0;owned\u0007 \u202eevil\n");
      await writeFile(join(scene.dir, "state"), "ActiveState=failed\nResult=exit-code\nExecMainStatus=1\n");
      const unit = { unit: "app_gunicorn.service", show, status, exitMeanings: GUNICORN_EXITS };
      const { checks } = await runProgram({ order: ["gunicorn"], timeout: 30, gunicorn: gunicornSpec(scene), units: { gunicorn: unit } });
      assert.deepEqual(checks[0]!.journal, ["gunicorn[1]: \\x1b[2J\\x1b]0;owned\\x07 \\u202eevil"]);
      assert.match(checks[0]!.detail, /app_gunicorn\.service failed \(exit status 1, result exit-code\)$/);
    }));

  it("says where the journal is when it cannot read it (sudo refused)", () =>
    withSocket(
      (socket) => socket.destroy(),
      async (scene) => {
        const { show } = await unitCommands(scene.dir, "");
        await writeFile(join(scene.dir, "state"), "ActiveState=failed\nResult=exit-code\nExecMainStatus=3\n");
        const refused = ["sh", "-c", "echo 'sudo: a password is required' >&2; exit 1"];
        const unit = { unit: "app_gunicorn.service", show, status: refused, exitMeanings: GUNICORN_EXITS };
        const { checks } = await runProgram({ order: ["gunicorn"], timeout: 30, gunicorn: gunicornSpec(scene), units: { gunicorn: unit } });
        assert.match(
          checks[0]!.detail,
          /\/api\/\) \((ConnectionResetError: .*|BrokenPipeError: .*|the connection was closed without an answer)\); app_gunicorn\.service failed: worker failed to boot \(exit status 3, result exit-code\); its journal could not be read \(sudo journalctl -u app_gunicorn\.service shows it\)$/,
        );
        assert.equal(checks[0]!.journal, undefined);
      },
    ));

  it("waits for a socket-activated unit that is inactive, and gives up on one that stays inactive", () =>
    withSocket(
      (socket) => socket.destroy(),
      async (scene) => {
        const { show, status } = await unitCommands(scene.dir, "gunicorn[1]: exited\n");
        await writeFile(join(scene.dir, "state"), "ActiveState=inactive\nResult=success\nExecMainStatus=0\n");
        const unit = { unit: "app_gunicorn.service", show, status, exitMeanings: GUNICORN_EXITS };
        const { checks, seconds } = await runProgram({ order: ["gunicorn"], timeout: 30, gunicorn: gunicornSpec(scene), units: { gunicorn: unit } });
        assert.match(checks[0]!.detail, /app_gunicorn\.service is inactive: its main process is gone \(exit status 0, result success\)$/);
        assert.ok(scene.connections >= 2, "asked again while it could still have started");
        assert.ok(seconds < 10, `${seconds} s`);
      },
    ));

  it("pings Celery again until the worker answers, and fails with its last answer when it never does", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gen-smoke-"));
    try {
      const count = join(dir, "count");
      // Answers pong from the third ping: a worker that connects to its broker after systemd said it started.
      const celery = join(dir, "celery");
      await writeFile(
        celery,
        `#!/bin/sh\nn=$(($(cat '${count}' 2>/dev/null || echo 0) + 1)); echo $n > '${count}'\n[ $n -ge 3 ] && { echo '-> w@h: OK'; echo '        pong'; exit 0; }\necho 'Error: No nodes replied within time constraint' >&2; exit 69\n`,
        { mode: 0o755 },
      );
      const ok = await runProgram({ order: ["celery"], timeout: 10, celery: { argv: [celery, "inspect", "ping"], cwd: dir } });
      assert.deepEqual(ok.checks, [{ name: "celery", status: "ok", detail: "answered ping" }]);
      const never = await runProgram({
        order: ["celery"],
        timeout: 1,
        celery: { argv: ["sh", "-c", "echo 'Error: No nodes replied' >&2; exit 69"], cwd: dir },
      });
      assert.match(never.checks[0]!.detail, /^no pong \(exit 69\): Error: No nodes replied \(\d+ attempts? in 1 s\)$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the smoke checks' record", () => {
  it("bounds and escapes what the server sends", () => {
    const record = {
      checks: [{ name: "gunicorn", status: "fail", detail: "a\u001b[31mb", journal: [...Array.from({ length: 30 }, (_, i) => `l${i}`), "x".repeat(900), 7] }],
    };
    const [check] = orThrow(parseSmokeRecord({ exitCode: 0, stdout: JSON.stringify(record), stderr: "" }));
    assert.equal(check!.detail, "a\\x1b[31mb");
    assert.equal(check!.journal!.length, 20);
    assert.equal(check!.journal!.at(-1), "x".repeat(400));
  });
});
