// What gen doctor does with the database secrets before anything reaches a server: which values it resolves, what
// it says when one is not set, and that the readiness step hands them to the server program on standard input only.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { doctorSpec, doctorStep } from "./doctor-checks.js";
import { postgresLoginValues } from "./postgres-login.js";

const PASSWORD = "unit-test-db-password-3f9a";
// An empty environments folder for the secrets file: a developer's own environments/prod.secrets.env is not read.
const noSecretsFile = mkdtempSync(join(tmpdir(), "gen-doctor-login-"));
after(() => rmSync(noSecretsFile, { recursive: true, force: true }));

async function prod() {
  const loaded = await loadEnvironment("prod", { environmentsDir: join(packageRoot, "environments"), secrets: false });
  return { ...loaded, environmentsDir: noSecretsFile };
}

test("without the password secret, the login is skipped and the fix names the secret to set", async () => {
  const values = await postgresLoginValues(await prod(), {});
  assert.ok(values && "skip" in values);
  assert.equal(values.skip.reason, "postgres.password: secret TSOSI_DB_PASSWORD is not set");
  assert.match(values.skip.fix, /^set TSOSI_DB_PASSWORD to check the login \(export TSOSI_DB_PASSWORD=\.\.\. or add it to .*prod\.secrets\.env\)$/);
});

test("with the password secret, the login has the environment's host, user, database and password", async () => {
  const values = await postgresLoginValues(await prod(), { TSOSI_DB_PASSWORD: PASSWORD });
  assert.ok(values && "login" in values);
  assert.deepEqual(values.login, { host: "127.0.0.1", user: "tsosi_user", database: "tsosi", password: PASSWORD });
  assert.deepEqual([...values.secrets], [["TSOSI_DB_PASSWORD", PASSWORD]]);
});

test("the readiness step sends the password on the program's standard input, never on its command line", async () => {
  const loaded = await prod();
  const values = await postgresLoginValues(loaded, { TSOSI_DB_PASSWORD: PASSWORD });
  assert.ok(values && "login" in values);
  const spec = doctorSpec(loaded.environment, { envName: "prod", roles: ["web"], root: "/", minFreeMb: 1 });
  // The step is what goes to the server: its script is the command line, its input the program's standard input.
  const step = doctorStep(spec, values.login);
  assert.ok(!step.script.includes(PASSWORD), "the password is not on the command line");
  assert.deepEqual(JSON.parse(String(step.stdin)), { postgres: values.login });
});
