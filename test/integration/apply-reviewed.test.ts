// What gen apply installs is what was reviewed, or nothing: the server read again under the lock (applyPlan as the
// CLI calls it) and a plan saved by gen diff --out (the bin), over a real OpenSSH server on 127.0.0.1.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { apply, appliedOnce, applyAfterReview, LOGROTATE, type RenderedFiles, snapshot, STATE, SUDOERS, withServer } from "./support/apply-server.js";

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
