// What gen apply installs is what was reviewed, or nothing: the server read again under the lock (applyPlan as the
// CLI calls it) and a plan saved by gen diff --out (the bin), over a real OpenSSH server on 127.0.0.1.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inTerminal } from "../support/in-terminal.js";
import { genBin } from "../support/run-gen.js";
import type { GenServer } from "./support/gen-server.js";
import { apply, appliedOnce, applyAfterReview, LOGROTATE, type RenderedFiles, snapshot, STATE, SUDOERS, withServer } from "./support/apply-server.js";

const QUESTION = "Apply these changes to t?";

/** gen apply t at a terminal, answered yes once it asks, after `meanwhile` (a command line) changed the server. */
function applyAnswered(server: GenServer, meanwhile?: string[]) {
  return inTerminal(
    { argv: [process.execPath, genBin, ...server.argv(["apply", "t"])], typed: [{ after: QUESTION, send: "y\r", ...(meanwhile ? { run: meanwhile } : {}) }] },
    { GEN_REPORT_EXEC: "1" },
  );
}

function batches(output: string): number | undefined {
  const counted = /^gen: step batches: (\d+)\r?$/m.exec(output);
  return counted ? Number(counted[1]) : undefined;
}

describe("gen apply applies what was reviewed", { concurrency: 2 }, () => {
  it("applies nothing when the server or the environment changed since the plan was made (read again under the lock)", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      await server.writeEnv({ logrotate: { rotate: 9 } });
      const cases: {
        name: string;
        meanwhile?: () => Promise<void>;
        reviewed?: (f: RenderedFiles) => RenderedFiles;
        applied?: (f: RenderedFiles) => RenderedFiles;
        named: string[];
      }[] = [
        { name: "a planned file edited on the server", meanwhile: () => writeFile(server.file(LOGROTATE), "# edited after the review\n"), named: [LOGROTATE] },
        { name: "a planned change whose file was removed", meanwhile: () => rm(server.file(LOGROTATE)), named: [LOGROTATE] },
        { name: "an unchanged file edited on the server", meanwhile: () => writeFile(server.file(SUDOERS), "# edited after the review\n"), named: [SUDOERS] },
        {
          name: "the environment renders a planned file differently",
          applied: (files) => files.map((f) => (f.path === LOGROTATE ? { ...f, content: f.content.replace("rotate 9", "rotate 8") } : f)),
          named: [LOGROTATE],
        },
        // A file the review never showed would be created: the plans differ in length only.
        {
          name: "a file the review did not list",
          meanwhile: () => rm(server.file(SUDOERS)),
          reviewed: (files) => files.filter((f) => f.path !== SUDOERS),
          named: [],
        },
        { name: "a reviewed file no longer rendered", applied: (files) => files.filter((f) => f.path !== SUDOERS), named: [SUDOERS] },
      ];
      for (const c of cases) {
        let before: Record<string, string> = {};
        const result = await applyAfterReview(server, {
          ...c,
          meanwhile: async () => {
            await c.meanwhile?.();
            before = await snapshot(server);
          },
        });
        assert.equal(result.outcome, "failed", c.name);
        assert.equal(result.error?.message, "the server or the environment changed since the plan was made; nothing was changed on 127.0.0.1", c.name);
        assert.deepEqual(
          result.error?.details,
          [...c.named.map((path) => `${path}: no longer as planned`), "Run gen diff t again and review the new plan."],
          c.name,
        );
        assert.deepEqual(result.changed, [], c.name);
        assert.deepEqual(await snapshot(server), before, c.name);
        assert.deepEqual(await server.recorded(), [], c.name);
        assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, `${c.name}: lock released`);
        // Back to the server of the review: applied, with logrotate's change still to make.
        await server.writeEnv({});
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
      }
      // With nothing changed in between, the same call applies the reviewed plan.
      const result = await applyAfterReview(server, {});
      assert.deepEqual([result.outcome, result.changed], ["applied", [LOGROTATE]], result.error?.message);
    }));

  it("keeps in gen's record the files it recorded before that this apply does not plan", () =>
    withServer(async (server) => {
      await appliedOnce(server);
      const record = async () => (JSON.parse(await readFile(server.file(`${STATE}/applied.json`), "utf8")) as { files: Record<string, string> }).files;
      const before = await record();
      await server.writeEnv({ logrotate: { rotate: 9 } });
      const withoutSudoers = (files: RenderedFiles) => files.filter((f) => f.path !== SUDOERS);
      const result = await applyAfterReview(server, { reviewed: withoutSudoers, applied: withoutSudoers });
      assert.deepEqual([result.outcome, result.changed], ["applied", [LOGROTATE]], result.error?.message);
      const after = await record();
      assert.equal(after[SUDOERS], before[SUDOERS]);
      assert.notEqual(after[LOGROTATE], before[LOGROTATE]);
    }));

  describe("in one round trip after the answer: the lock, the read checked against the review's on the server, and the install", { concurrency: 2 }, () => {
    it("applies a plan answered at the terminal in 2 round trips after connecting: the read, then everything else", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        const run = await applyAnswered(server);
        assert.equal(run.exit, 0, run.out);
        assert.equal(run.asked, 0);
        assert.match(run.out, /^127\.0\.0\.1: applied 1 file\r?$/m);
        assert.equal(batches(run.out), 2, run.out);
        assert.match(await readFile(server.file(LOGROTATE), "utf8"), /^ {4}rotate 9$/m);
        assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
      }));

    it("refuses, changing nothing and releasing the lock, when a planned file changed between the review and the answer", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        const edited = "# edited after the review\n";
        const before = { ...(await snapshot(server)) };
        // The staged file of an interrupted apply goes all the same, with the unlock.
        const leftover = server.file("/etc/logrotate.d/.gen-stage.interrupted");
        await writeFile(leftover, "staged\n");
        const run = await applyAnswered(server, ["sh", "-c", `printf '# edited after the review\\n' > ${server.file(LOGROTATE)}`]);
        assert.equal(run.exit, 1, run.out);
        assert.match(run.out, /removed leftover of an interrupted apply: .*\.gen-stage\.interrupted/);
        assert.equal(existsSync(leftover), false);
        assert.match(run.out, /the server or the environment changed since the plan was made; nothing was changed on 127\.0\.0\.1/);
        assert.match(run.out, /\/etc\/logrotate\.d\/tsosi: no longer as planned/);
        assert.equal(await readFile(server.file(LOGROTATE), "utf8"), edited);
        const after = await snapshot(server);
        delete after[LOGROTATE];
        delete before[LOGROTATE];
        assert.deepEqual(after, before);
        assert.deepEqual(await server.recorded(), []);
        assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
      }));

    it("reads under the lock in a round trip of its own when only what the review did not show changed, and applies", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        // The staged file of an interrupted apply: the probe stops its round trip before the leftovers, which go in the next.
        const leftover = server.file("/etc/logrotate.d/.gen-stage.interrupted");
        await writeFile(leftover, "staged\n");
        // A prepared folder's mode: the plan's files are as reviewed, so the apply goes on (and puts the folder back).
        const run = await applyAnswered(server, ["chmod", "0700", server.file("/home/gen-test/config")]);
        assert.equal(run.exit, 0, run.out);
        assert.match(run.out, /^127\.0\.0\.1: applied 1 file/m);
        assert.equal(batches(run.out), 3, run.out);
        assert.match(run.out, /removed leftover of an interrupted apply: .*\.gen-stage\.interrupted/);
        assert.equal(existsSync(leftover), false);
        assert.equal((await stat(server.file("/home/gen-test/config"))).mode & 0o7777, 0o750);
        assert.match(await readFile(server.file(LOGROTATE), "utf8"), /^ {4}rotate 9$/m);
      }));

    it("stops at a lock someone else holds, leaving it, takes it over with --force-unlock, and one left by a dead run of this user", () =>
      withServer(async (server) => {
        const lock = server.file(`${STATE}/locks/lock`);
        const holder = (who: string, pid: number) => `${JSON.stringify({ who, command: "deploy", since: "2024-05-01T10:00:00.000Z", pid })}\n`;
        await mkdir(lock, { recursive: true });
        await writeFile(join(lock, "holder.json"), holder("alice@laptop", 4242));
        const refused = await applyAnswered(server);
        assert.equal(refused.exit, 1, refused.out);
        assert.match(refused.out, /is locked by alice@laptop \(gen deploy, pid 4242\) since 2024-05-01T10:00:00\.000Z/);
        assert.match(refused.out, /take the lock over with --force-unlock/);
        assert.equal(await readFile(join(lock, "holder.json"), "utf8"), holder("alice@laptop", 4242));
        assert.deepEqual(await snapshot(server), {});

        const forced = await inTerminal(
          { argv: [process.execPath, genBin, ...server.argv(["apply", "t", "--force-unlock"])], typed: [{ after: QUESTION, send: "y\r" }] },
          { GEN_REPORT_EXEC: "1" },
        );
        assert.equal(forced.exit, 0, forced.out);
        assert.match(forced.out, /took over the lock of alice@laptop \(gen deploy, pid 4242\)/);
        assert.equal(batches(forced.out), 2, forced.out);
        assert.equal(existsSync(lock), false);

        const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
        await mkdir(lock, { recursive: true });
        await writeFile(join(lock, "holder.json"), holder(`${userInfo().username}@${hostname()}`, gone));
        const taken = await applyAnswered(server);
        assert.equal(taken.exit, 0, taken.out);
        assert.match(taken.out, new RegExp(`took over the lock of \\S+ \\(gen deploy, pid ${gone}\\) since .*, whose process is gone`));
        assert.equal(existsSync(lock), false);
      }));

    it("reports a missing account with every other preflight problem, changing nothing, its work sent again with what the probe found", () =>
      withServer(
        async (server) => {
          // The work sent with the probe takes its accounts as there: the probe finds one missing and stops it.
          await server.writeEnv({ server: { deployUser: "nosuchuser" }, nginx: { tls: true } });
          const planFile = join(server.tempDir, "plan.json");
          assert.equal((await server.gen(["diff", "t", "--out", planFile])).code, 2);
          const run = await server.gen(["apply", "t", "--yes", "--plan", planFile], { env: { GEN_REPORT_EXEC: "1" } });
          assert.equal(run.code, 1, run.all);
          assert.match(run.err, /preflight found \d+ problems on 127\.0\.0\.1; nothing was changed/);
          assert.match(run.err, /user nosuchuser does not exist/);
          assert.match(run.err, /\/etc\/letsencrypt\/live\/tsosi\.localhost\/fullchain\.pem \(named by the nginx site\) is missing/);
          // The read; the lock and the probe, which stopped the work; the work again; the log; the unlock.
          assert.equal(batches(run.err), 5, run.all);
          assert.deepEqual(await snapshot(server), {});
          assert.equal(existsSync(server.file("/home/nosuchuser/config/settings_local.py")), false);
          assert.deepEqual(await server.recorded(), []);
          assert.equal(existsSync(server.file(`${STATE}/locks/lock`)), false, "lock released");
        },
        { release: false },
      ));

    it("applies a saved plan in 2 round trips after connecting", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        const planFile = join(server.tempDir, "plan.json");
        assert.equal((await server.gen(["diff", "t", "--out", planFile])).code, 2);
        const run = await server.gen(["apply", "t", "--yes", "--plan", planFile], { env: { GEN_REPORT_EXEC: "1" } });
        assert.equal(run.code, 0, run.all);
        assert.match(run.out, /^127\.0\.0\.1: applied 1 file$/m);
        assert.equal(batches(run.err), 2, run.all);
      }));
  });

  describe("a saved plan", { concurrency: 2 }, () => {
    it("applies exactly the plan saved by diff --out", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        const planFile = join(server.tempDir, "plan.json");
        assert.equal((await server.gen(["diff", "t", "--out", planFile])).code, 2);
        const run = await apply(server, "--plan", planFile);
        assert.equal(run.code, 0, run.all);
        assert.match(run.out, /^127\.0\.0\.1: applied 1 file$/m);
        assert.match(await readFile(server.file(LOGROTATE), "utf8"), /^ {4}rotate 9$/m);
      }));

    it("refuses, changing nothing, when a server file changed after the plan was saved", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        const planFile = join(server.tempDir, "plan.json");
        assert.equal((await server.gen(["diff", "t", "--out", planFile])).code, 2);
        await writeFile(server.file(LOGROTATE), "# edited after the review\n");
        const before = await snapshot(server);
        const run = await apply(server, "--plan", planFile);
        assert.equal(run.code, 1, run.all);
        assert.match(run.err, new RegExp(`${planFile} no longer matches; nothing was applied`));
        assert.match(run.err, /127\.0\.0\.1:\/etc\/logrotate\.d\/tsosi: changed on the server since the plan was saved/);
        assert.deepEqual(await snapshot(server), before);
        assert.deepEqual(await server.recorded(), []);
      }));

    it("refuses, changing nothing, when the environment now renders differently", () =>
      withServer(async (server) => {
        await appliedOnce(server);
        await server.writeEnv({ logrotate: { rotate: 9 } });
        const planFile = join(server.tempDir, "plan.json");
        assert.equal((await server.gen(["diff", "t", "--out", planFile])).code, 2);
        await server.writeEnv({ logrotate: { rotate: 9 }, gunicorn: { workers: 3 } });
        const before = await snapshot(server);
        const run = await apply(server, "--plan", planFile);
        assert.equal(run.code, 1, run.all);
        assert.match(run.err, /\/etc\/systemd\/system\/tsosi_gunicorn\.service: the environment now renders it differently than when the plan was saved/);
        assert.deepEqual(await snapshot(server), before);
        assert.deepEqual(await server.recorded(), []);
      }));
  });
});
