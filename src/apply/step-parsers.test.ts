// Apply's step builders and their parsers, run for real through the local transport in a temp folder (the real sh,
// no sshd): what each step prints is read back as typed records, and output that is not those records is an error
// naming the step.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { Environment } from "../../schema/index.js";
import type { HostPlan, PlanEntry } from "../plan/plan-types.js";
import { jsonStringFunction, parseRecords } from "../transport/step-records.js";
import { z } from "zod";
import { linkRefusal, parseFolderStep, safeFolderLines } from "../server/link-safe.js";
import { lockSteps, releaseLock, takeLock } from "../server/lock.js";
import { parsePreflight, preflightStep, problemMessage } from "./preflight.js";
import { cleanUpStep, leftoversStep, parseLeftoversStep } from "../server/applied-record.js";
import { serverShell, type StepOutput } from "../server/server-shell.js";
import { attempt, plainStep, runStep } from "../transport/typed-steps.js";
import { createSandboxTransport } from "../transport/sandbox-transport.js";

const { root, transport } = localServer("steps");
const env = {
  server: { useSudo: false, stateDir: "/state", systemctl: "/bin/true", nginxTest: ["/bin/true"], systemServices: ["gen-no-such-unit"] },
  nginx: { tls: false },
  app: { domain: "example.org" },
} as unknown as Environment;
const shell = serverShell(transport, env);
const one = async (script: string, name = "a step"): Promise<StepOutput> => runStep(shell, plainStep({ name, script }));

describe("step records", () => {
  test("a value only the server knows comes back as the same string, whatever its characters", async () => {
    const values = ["plain", 'quote " and backslash \\ and $dollar `tick`', "two\nlines", "tab\there", "é ü ✓", '{"kind":"x"}'];
    const run = await one([jsonStringFunction(), ...values.map((v) => `gen_json ${shell.quote(v)}; echo`)].join("\n"));
    assert.equal(run.exitCode, 0, run.stderr);
    assert.deepEqual(
      run.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as string),
      values.map((v) => v.replace("\t", "")),
    );
  });

  test("a line that is not a record, or a record of another shape, is an error naming the step", () => {
    const schema = z.object({ kind: z.literal("kept") });
    const bad = parseRecords("moving /etc/x into place on h", "kept\n", schema);
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error.message : "", /^moving \/etc\/x into place on h: the step's output is not what gen expects \("kept"\)/);
    assert.equal(parseRecords("s", '{"kind":"other"}', schema).ok, false);
    assert.deepEqual(parseRecords("s", '{"kind":"kept"}\n\n', schema), { ok: true, value: [{ kind: "kept" }] });
  });
});

describe("the lock steps", () => {
  const holder = { who: "tester@here", command: "apply", since: "2026-01-01T00:00:00Z", pid: 123 };
  const run = async (force: boolean) => runStep(shell, attempt(lockSteps(shell, "/state", holder, force)));

  test("taken, then held by whoever holds it, then replaced with --force-unlock", async () => {
    assert.deepEqual(await run(false), { ok: true, value: { taken: true } });
    const held = await run(false);
    assert.ok(held.ok && !held.value.taken);
    assert.deepEqual(JSON.parse(!held.value.taken ? held.value.held : ""), holder);
    const replaced = await run(true);
    assert.ok(replaced.ok && replaced.value.taken);
    assert.match(replaced.value.taken ? (replaced.value.replaced ?? "") : "", /^tester@here \(gen apply, pid 123\)/);
    rmSync(join(root, "state/locks/lock"), { recursive: true });
  });

  test("a holder.json that is not JSON is passed on as it is, newlines and quotes included", async () => {
    mkdirSync(join(root, "state/locks/lock"), { recursive: true });
    writeFileSync(join(root, "state/locks/lock/holder.json"), 'not "json"\nat all\n');
    assert.deepEqual(await run(false), { ok: true, value: { taken: false, held: 'not "json"\nat all' } });
    rmSync(join(root, "state/locks/lock"), { recursive: true });
  });

  test("mkdir failing for another reason is an error with its words", async () => {
    rmSync(join(root, "state/locks"), { recursive: true, force: true });
    writeFileSync(join(root, "state/locks"), "a file where the folder should be");
    const answer = await run(false);
    assert.equal(answer.ok, false);
    assert.match(!answer.ok ? answer.error.message : "", /^cannot take the lock \/state\/locks\/lock on local:.*: mkdir: .*Not a directory/);
    rmSync(join(root, "state/locks"));
  });

  test("takeLock takes a free lock and runs the guarded steps with it; a held one names its holder; a dead run of this user is taken over", async () => {
    const other = { ...holder, who: "bob@elsewhere", pid: process.pid };
    const guarded = [plainStep({ name: "reading again", script: "echo under-the-lock" })] as const;
    const taken = await takeLock(shell, "/take", holder, false, undefined, guarded);
    assert.deepEqual([taken.replaced, taken.guarded.ok && taken.guarded.value.map((r) => [r.exitCode, r.stdout])], [undefined, [[0, "under-the-lock\n"]]]);
    await assert.rejects(takeLock(shell, "/take", other, false), {
      name: "GenError",
      message: `${transport.describe} is locked by tester@here (gen apply, pid 123) since 2026-01-01T00:00:00Z`,
      details: ["Another apply or deploy is running, or one was interrupted. If nobody is running one, take the lock over with --force-unlock."],
    });
    // The holder's pid is this process: it runs, so only --force-unlock takes the lock over.
    rmSync(join(root, "take/locks/lock"), { recursive: true });
    await takeLock(shell, "/take", { ...holder, pid: process.pid }, false);
    await assert.rejects(takeLock(shell, "/take", holder, false), /is locked by tester@here/);
    const forced = await takeLock(shell, "/take", other, true, undefined, guarded);
    assert.deepEqual(
      [forced.replaced, forced.guarded.ok && forced.guarded.value.map((r) => r.stdout)],
      [`tester@here (gen apply, pid ${process.pid}) since 2026-01-01T00:00:00Z`, ["under-the-lock\n"]],
    );
    // bob's lock with a pid no process has: only bob takes it over without --force-unlock.
    const gone = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
    rmSync(join(root, "take/locks/lock"), { recursive: true });
    await takeLock(shell, "/take", { ...other, pid: gone }, false);
    await assert.rejects(takeLock(shell, "/take", holder, false), /is locked by bob@elsewhere/);
    const over = await takeLock(shell, "/take", other, false);
    assert.equal(over.replaced, `bob@elsewhere (gen apply, pid ${gone}) since 2026-01-01T00:00:00Z, whose process is gone`);
    await releaseLock(shell, "/take");
    assert.deepEqual(readdirSync(join(root, "take/locks")), []);
    // --force-unlock with no lock there takes it and replaces nobody.
    assert.equal((await takeLock(shell, "/take", holder, true)).replaced, undefined);
    await releaseLock(shell, "/take");
  });

  test("an answer that does not match its status, or a status no lock step ends with, is an error naming the step", () => {
    const record = (kind: string, extra = {}) => `${JSON.stringify({ kind, ...extra })}\n`;
    // One answer: the taking step alone; two: --force-unlock's removing step, then the taking one.
    const parse = (runs: { exitCode: number; stdout: string; stderr?: string }[]) => {
      const answers = runs.map((r) => ({ stderr: "", size: r.stdout.length, notRun: false, skipped: false, ...r }));
      const answer = lockSteps(shell, "/l", holder, runs.length === 2).read(answers);
      return answer.ok ? answer.value : answer.error.message;
    };
    const h = transport.describe;
    assert.equal(
      parse([{ exitCode: 0, stdout: record("held", { holder: "x" }) }]),
      `taking the lock on ${h}: it ended with status 0 but printed a "held" record`,
    );
    assert.equal(
      parse([{ exitCode: 7, stdout: "", stderr: " sudo: a password is required\n" }]),
      `cannot take the lock on ${h} (exit 7): sudo: a password is required`,
    );
    assert.equal(parse([{ exitCode: 43, stdout: record("failed", { reason: "No space left" }) }]), `cannot take the lock /l/locks/lock on ${h}: No space left`);
    assert.equal(parse([{ exitCode: 44, stdout: record("link", { path: "/srv/state" }) }]), `apply stopped on ${h}: ${linkRefusal("/srv/state")}`);
    // The removing step: its holder is the one replaced; a status 1 (no lock) or output that is not a record.
    const taken = { exitCode: 0, stdout: record("taken") };
    assert.deepEqual(parse([{ exitCode: 0, stdout: record("removed", { holder: JSON.stringify(holder) }) }, taken]), {
      taken: true,
      replaced: "tester@here (gen apply, pid 123) since 2026-01-01T00:00:00Z",
    });
    assert.deepEqual(parse([{ exitCode: 1, stdout: "" }, taken]), { taken: true });
    assert.deepEqual(parse([{ exitCode: 0, stdout: record("taken") }, taken]), { taken: true });
    const junk = String(parse([{ exitCode: 0, stdout: "junk\n" }, taken]));
    assert.ok(junk.startsWith(`removing the lock on ${h}: the step's output is not what gen expects`), junk);
  });

  test("a status the step does not print a record for is an error naming the step", () => {
    const answer = lockSteps(shell, "/l", holder, false).read([{ exitCode: 42, stdout: "HELD\n", stderr: "", size: 5, notRun: false, skipped: false }]);
    assert.equal(answer.ok, false);
    assert.match(!answer.ok ? answer.error.message : "", /^taking the lock on local:.*: the step's output is not what gen expects/);
  });
});

describe("the preflight step", () => {
  const entry = (path: string, owner: string): PlanEntry => ({
    path,
    kind: "extra",
    action: "create",
    changes: [],
    secret: false,
    editedOnServer: false,
    handlers: { reload: [], restart: [] },
    desired: { sha256: "", mode: "0644", owner, group: "root" },
  });
  const host = (entries: PlanEntry[]): HostPlan => ({ host: "h", transport: "t", roles: ["web"], entries, folders: [] });

  test("each problem comes back as a typed record, read as the operator's message, in the order of their kinds", async () => {
    symlinkSync("/tmp", join(root, "linked"));
    const parsed = await runStep(shell, attempt(preflightStep(shell, env, host([entry("/linked/x.conf", "gen-no-such-user")]))));
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.map((p) => p.kind),
      ["user", "unit", "link"],
    );
    assert.match(
      parsed.value.map(problemMessage).join("\n"),
      /user gen-no-such-user does not exist: create it first \(adduser gen-no-such-user\)\n.*\n?.*\/linked is a symbolic link/,
    );
  });

  test("in the sandbox, accounts and units are not asked for (owners and service commands are recorded): a link still is", async () => {
    const sandbox = createSandboxTransport(join(root, "sandbox"));
    try {
      mkdirSync(join(root, "sandbox"));
      symlinkSync("/tmp", join(root, "sandbox/linked"));
      const inSandbox = serverShell(sandbox, env);
      const parsed = await runStep(inSandbox, attempt(preflightStep(inSandbox, env, host([entry("/linked/x.conf", "gen-no-such-user")]))));
      assert.deepEqual(parsed.ok && parsed.value.map((p) => p.kind), ["link"]);
    } finally {
      await sandbox.close();
    }
  });

  test("nothing found: no problems", async () => {
    const clean = { ...env, server: { ...env.server, systemServices: [] } } as unknown as Environment;
    assert.deepEqual(await runStep(shell, attempt(preflightStep(shell, clean, host([entry("/etc/x.conf", "root")])))), { ok: true, value: [] });
  });

  test("a preflight that could not run, or printed something else, is an error naming it", () => {
    const refused = parsePreflight("h", true, { exitCode: 1, stdout: "", stderr: "sudo: a password is required\n" });
    assert.ok(
      !refused.ok && /^preflight failed on h \(exit 1\)/.test(refused.error.message) && refused.error.details.some((d) => d.startsWith("sudo -n refused")),
    );
    const garbled = parsePreflight("h", false, { exitCode: 3, stdout: "PROBLEM user x does not exist\n", stderr: "" });
    assert.ok(!garbled.ok && garbled.error.message.startsWith("running the preflight checks on h: the step's output is not what gen expects"));
  });
});

describe("the folder and leftovers steps", () => {
  test("the folder step names the link it refused", async () => {
    mkdirSync(join(root, "f"), { recursive: true });
    symlinkSync("/tmp", join(root, "f/link"));
    const run = await one(safeFolderLines(shell, { path: "/f/link/inside", owner: "root", group: "root", mode: "0755" }).join("\n"));
    assert.equal(run.exitCode, 3);
    assert.deepEqual(parseFolderStep("preparing the folders", run.stdout), { ok: true, value: { link: "/f/link" } });
  });

  test("the clean-up after an apply that succeeded removes the backups beyond the newest applies', the lock last", async () => {
    const ids = ["20260101T000000Z-1", "20260102T000000Z-1", "20260103T000000Z-1", "20260104T000000Z-1"];
    for (const id of ids) mkdirSync(join(root, "prune/backups", id, "etc"), { recursive: true });
    const cleanUp = async (stateDir: string, keep?: number) => {
      mkdirSync(join(root, stateDir, "locks/lock"), { recursive: true });
      mkdirSync(join(root, stateDir, "incoming-1"), { recursive: true });
      assert.equal(await runStep(shell, cleanUpStep(shell, stateDir, [`${stateDir}/incoming-1`], keep)), undefined);
      assert.deepEqual(readdirSync(join(root, stateDir, "locks")), []);
      assert.equal(existsSync(join(root, stateDir, "incoming-1")), false);
    };
    await cleanUp("/prune", 2);
    assert.deepEqual(readdirSync(join(root, "prune/backups")).sort(), ids.slice(2));
    await cleanUp("/prune", 5);
    await cleanUp("/prune");
    assert.deepEqual(readdirSync(join(root, "prune/backups")).sort(), ids.slice(2));
    // No backups folder, or an empty one: nothing else goes.
    await cleanUp("/no-backups", 1);
    mkdirSync(join(root, "empty/backups"), { recursive: true });
    await cleanUp("/empty", 0);
    assert.deepEqual(readdirSync(join(root, "empty")).sort(), ["backups", "locks"]);
  });

  test("the leftovers step names what it removed, whatever the names", async () => {
    mkdirSync(join(root, "state/incoming-1"), { recursive: true });
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, 'etc/.gen-stage.1.odd "name"'), "");
    const run = await one(leftoversStep(shell, "/state", ["/etc/x"]).script);
    const parsed = parseLeftoversStep(run);
    assert.ok(parsed.ok, run.stdout);
    assert.deepEqual(parsed.value, [join(root, "state/incoming-1"), join(root, 'etc/.gen-stage.1.odd "name"')]);
  });
});
