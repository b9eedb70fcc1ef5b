// Wrong usage stops everything: every command, run as users run it (the package's bin in a child process),
// with an unknown option, a mistyped name or a bad value exits 2 (64, EX_USAGE, for the commands whose 2 means
// "differences": gen diff, gen status) with the closest valid name, and nothing happened: no file written in the
// project, no connection to the environment's server.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { packageRoot } from "../paths.js";
import { runGenBin } from "../../test/support/run-gen.js";
import { startSilentServer, type SilentServer } from "../../test/support/net.js";

const SECRETS = { TSOSI_DB_PASSWORD: "usage-test-db-password", TSOSI_SECRET_KEY: "usage-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" };
let temp = "";
let project = "";
let environments = "";
let server: SilentServer;

interface Case {
  argv: string[];
  /** Expected in standard error. */
  says?: string[];
  /** The exit status: 2 unless said (64 where 2 means differences). */
  code?: 64;
}

const cases: Case[] = [
  { argv: ["render", "srv", "--stduot"], says: ["unknown option --stduot", "did you mean --stdout?"] },
  { argv: ["render", "--out", "rendered", "--no-such-option-zz"], says: ["unknown option --no-such-option-zz for gen render"] },
  { argv: ["validate", "srv", "--no-tool"], says: ["unknown option --no-tool", "did you mean --no-tools?"] },
  { argv: ["diff", "srv", "--stats"], says: ["unknown option --stats", "did you mean --stat?"], code: 64 },
  { argv: ["diff", "srv", "--out", "plan.json", "--only", "x"], says: ["cannot be combined with --only"], code: 64 },
  { argv: ["diff", "svr"], says: ['unknown environment "svr"', "Did you mean srv?"], code: 64 },
  { argv: ["--json", "diff", "srv", "--bogus"], says: [], code: 64 },
  { argv: ["status", "srv", "--jsn"], says: ["unknown option --jsn for gen status", "did you mean --json?"], code: 64 },
  { argv: ["status", "svr"], says: ['unknown environment "svr"'], code: 64 },
  { argv: ["apply", "srv", "--yes", "--hosts", "web1"], says: ['--hosts: srv has no host "web1"', "srv's hosts: 127.0.0.1 (web, worker)"] },
  { argv: ["diff", "srv", "--roles", "db"], says: ['--roles: unknown role "db": the roles are web, worker'], code: 64 },
  { argv: ["status", "srv", "--hosts", "127.0.0.1", "--roles", "db"], says: ['unknown role "db"'], code: 64 },
  { argv: ["apply", "srv", "--dryrun", "--yes"], says: ["unknown option --dryrun", "did you mean --dry-run?"] },
  { argv: ["deploy", "srv", "--yes", "--brnch", "main"], says: ["unknown option --brnch", "did you mean --branch?"] },
  { argv: ["releases", "srv", "--bogus"], says: ["unknown option --bogus for gen releases"] },
  { argv: ["doctor", "srv", "--min-free"], says: ["unknown option --min-free", "did you mean --min-free-mb?"] },
  { argv: ["doctor", "srv", "--min-free-mb", "lots"], says: ["--min-free-mb expects a whole number of MiB"] },
  { argv: ["doctr", "srv"], says: ['unknown command "doctr"', "did you mean doctor?"] },
  { argv: ["check", "srv", "--jsno"], says: ["unknown option --jsno", "did you mean --json?"] },
  { argv: ["rollback", "srv", "--too", "x"], says: ["unknown option --too", "did you mean --to?"] },
  { argv: ["show", "srv", "--jsn"], says: ["unknown option --jsn", "did you mean --json?"] },
  { argv: ["list", "--bogus"], says: ["unknown option --bogus for gen list"] },
  { argv: ["schema", "--bogus"], says: ["unknown option --bogus for gen schema"] },
  { argv: ["completion", "--bogus"], says: ["unknown option --bogus"] },
  { argv: ["rendr", "srv"], says: ['unknown command "rendr"', "did you mean render?"] },
  { argv: ["aply", "srv", "--yes"], says: ['unknown command "aply"', "did you mean apply?"] },
  { argv: ["render", "srv", "extra"], says: ['unexpected argument "extra" for gen render'] },
  { argv: ["apply", "srv", "--yes", "--no-yess"], says: ["unknown option --no-yess", "did you mean --no-yes?"] },
  { argv: ["deploy", "srv", "--yes", "--source", "tarball"], says: ["Invalid values", "tarball"] },
  { argv: ["diff", "srv", "--concurrency", "0"], says: ["--concurrency expects a whole number"], code: 64 },
  { argv: ["apply", "srv", "--yes", "--concurrency", "many"], says: ["--concurrency expects a whole number"] },
  { argv: ["apply", "srv", "--yes", "--plan"], says: ["option --plan needs a value"] },
  { argv: ["render", "srv", "--only"], says: ["option --only needs a value"] },
  { argv: [], says: ["name a command"] },
];

before(async () => {
  temp = await mkdtemp(join(tmpdir(), "gen-usage-test-"));
  project = join(temp, "project");
  environments = join(temp, "environments");
  server = await startSilentServer();
  await Promise.all([mkdir(project), mkdir(environments)]);
  // The example environment pointed at a TCP server that counts connections (and never answers).
  const shown = await runGenBin(["show", "prod", "--json", "--environments", join(packageRoot, "environments")], { env: SECRETS });
  assert.equal(shown.code, 0, shown.err);
  const definition = JSON.parse(shown.out) as { server: Record<string, unknown> };
  delete definition.server.hosts;
  definition.server = { ...definition.server, host: "127.0.0.1", port: server.port, connectTimeoutSeconds: 30 };
  await writeFile(join(environments, "srv.json"), JSON.stringify(definition));
});

after(async () => {
  await server.stop();
  await rm(temp, { recursive: true, force: true });
});

describe("wrong usage changes nothing and exits 2, or 64 where 2 means differences (the shipped bin)", () => {
  for (const c of cases) {
    test(`gen ${c.argv.join(" ")}: exit ${c.code ?? 2}`, async () => {
      const run = await runGenBin([...c.argv, "--environments", environments], { cwd: project, env: SECRETS });
      assert.equal(run.code, c.code ?? 2, `exit status; output:\n${run.all}`);
      for (const text of c.says ?? []) assert.ok(run.err.includes(text), `expected ${JSON.stringify(text)} in:\n${run.err}`);
      // yargs also reports an unknown --multi-word option as multiWord: one mistake is one line, not a second about a word never typed.
      if (!(c.says ?? []).some((text) => text.startsWith("unexpected argument")))
        assert.ok(!run.err.includes("unexpected argument"), `an argument never given is reported:\n${run.err}`);
      if (c.argv.includes("--json")) assert.equal((JSON.parse(run.out) as { exitCode: number }).exitCode, c.code ?? 2, "the JSON's exitCode");
      else assert.equal(run.out, "", "nothing on standard output");
      assert.ok(!run.err.includes("    at "), "no stack trace");
      assert.deepEqual(await readdir(project), [], "nothing written in the project (no out/, no .gen-local/)");
      assert.deepEqual(await readdir(environments), ["srv.json"], "nothing written beside the environments");
      assert.equal(server.connections(), 0, "the server was not contacted");
    });
  }

  test("with --json the usage error is JSON on standard output", async () => {
    const run = await runGenBin(["apply", "srv", "--dryrun", "--json", "--environments", environments], { cwd: project, env: SECRETS });
    assert.equal(run.code, 2, run.all);
    const parsed = JSON.parse(run.out) as { error: { message: string; details: string[] }; exitCode: number };
    assert.equal(parsed.exitCode, 2);
    assert.match(parsed.error.message, /unknown option --dryrun.*did you mean --dry-run\?/);
    assert.ok(Array.isArray(parsed.error.details));
    assert.equal(server.connections(), 0);
  });
});
