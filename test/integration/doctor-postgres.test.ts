// gen doctor logs in to a real PostgreSQL 15 (test/support/postgres.ts: a cluster of its own on 127.0.0.1) from the
// loopback sshd's session as gen-test, with the environment's host, port, database, user and password secret:
// SCRAM-SHA-256 and md5 roles log in; a wrong password, a missing database, a method gen cannot speak, a role that
// may only log in over SSL on a server without SSL, and nothing listening are each named with their fix; a cluster
// with SSL is logged in to over TLS; without the password secret the login is not checked and reachability still is.
// No password ever shows in the output.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { assertJsonOutput } from "../support/json-output.js";
import { freePort } from "../support/net.js";
import { startPostgres, type PostgresHandle } from "../support/postgres.js";
import { ENV_NAME, SECRET_KEY, startGenServer, type GenServer } from "./support/gen-server.js";

interface Check {
  check: string;
  subject: string;
  status: string;
  detail: string;
  fix?: string;
}

const secret = (what: string) => `${what}-${randomBytes(8).toString("hex")}`;
const SCRAM = { name: "gen_scram", password: secret("scram-pass"), method: "scram-sha-256" as const };
const MD5 = { name: "gen_md5", password: secret("md5-pass"), method: "md5" as const };
const SSL_ONLY = { name: "gen_sslonly", password: secret("ssl-pass"), method: "scram-sha-256" as const, sslOnly: true };
const GSS = { name: "gen_gss", password: secret("gss-pass"), method: "scram-sha-256" as const };
const WRONG = secret("wrong-pass");
const DATABASE = "gen_app";
const ALL_PASSWORDS = [SCRAM, MD5, SSL_ONLY, GSS].map((r) => r.password).concat(WRONG);

describe("gen doctor logs in to PostgreSQL", { concurrency: 1 }, () => {
  let server: GenServer;
  let postgres: PostgresHandle;

  before(async () => {
    server = await startGenServer({ user: "gen-test" });
    // The gss line comes before the role's own scram line, which is then never reached.
    postgres = await startPostgres({ roles: [SCRAM, MD5, SSL_ONLY, GSS], databases: [DATABASE], hba: [`host all ${GSS.name} 127.0.0.1/32 gss`] });
  });
  after(async () => {
    await postgres?.stop();
    await server?.stop();
  });

  /** gen doctor --json with the environment's postgres section and password; the PostgreSQL checks it reported. */
  async function doctor(
    pg: { port: number; user: string | { secret: string }; name?: string },
    password: string | undefined,
    asText = false,
    secrets: Record<string, string> = {},
  ): Promise<{ postgres: Check; login: Check; text: string }> {
    await server.writeEnv({ postgres: { host: "127.0.0.1", port: pg.port, user: pg.user, name: pg.name ?? DATABASE } });
    await server.writeSecrets({ TEST_SECRET_KEY: SECRET_KEY, ...secrets, ...(password === undefined ? {} : { TEST_DB_PASSWORD: password }) });
    const json = await server.gen(["doctor", ENV_NAME, "--json", "--min-free-mb", "1"]);
    const text = asText ? await server.gen(["doctor", ENV_NAME, "--min-free-mb", "1"]) : { all: "" };
    for (const leaked of ALL_PASSWORDS)
      assert.ok(!json.all.includes(leaked) && !text.all.includes(leaked), `a password shows in the output:\n${json.all}\n${text.all}`);
    const report = assertJsonOutput<{ hosts: { checks?: Check[]; error?: string }[] }>("doctor", json.out);
    const checks = report.hosts[0]?.checks;
    assert.ok(checks, `the checks did not run: ${json.all}`);
    const find = (name: string) => {
      const found = checks.filter((c) => c.check === name);
      assert.equal(found.length, 1, `one ${name} check in ${JSON.stringify(checks)}`);
      return found[0]!;
    };
    return { postgres: find("postgres"), login: find("postgres-login"), text: text.all };
  }

  it("logs in as a SCRAM-SHA-256 role", async () => {
    const { postgres: reach, login } = await doctor({ port: postgres.port, user: SCRAM.name }, SCRAM.password);
    assert.equal(reach.status, "ok", reach.detail);
    assert.deepEqual(login, {
      check: "postgres-login",
      subject: `gen_scram@${DATABASE}`,
      status: "ok",
      detail: `logged in as gen_scram to database ${DATABASE} on 127.0.0.1:${postgres.port} (scram-sha-256)`,
    });
  });

  it("logs in as an md5 role", async () => {
    const { login } = await doctor({ port: postgres.port, user: MD5.name }, MD5.password);
    assert.equal(login.status, "ok", login.detail);
    assert.match(login.detail, /^logged in as gen_md5 to database gen_app on 127\.0\.0\.1:\d+ \(md5\)$/);
  });

  it("names the user whose password is wrong, with the fix, and never shows the password", async () => {
    const { login, text } = await doctor({ port: postgres.port, user: SCRAM.name }, WRONG, true);
    assert.equal(login.status, "fail");
    assert.equal(login.detail, "password authentication failed for user gen_scram (the role has another password, or does not exist)");
    assert.equal(
      login.fix,
      "sudo -u postgres psql -c '\\password gen_scram' (type the value of TEST_DB_PASSWORD; a role that does not exist: sudo -u postgres createuser --pwprompt gen_scram)",
    );
    assert.match(text, /^127\.0\.0\.1: FAIL postgres-login gen_scram@gen_app: password authentication failed for user gen_scram /m);
    assert.match(text, /^127\.0\.0\.1: {6}fix: sudo -u postgres psql -c '\\password gen_scram'/m);
  });

  it("names a database that does not exist", async () => {
    const { login } = await doctor({ port: postgres.port, user: SCRAM.name, name: "gen_missing" }, SCRAM.password);
    assert.equal(login.status, "fail");
    assert.equal(login.detail, "database gen_missing does not exist");
    assert.equal(login.fix, "sudo -u postgres createdb --owner gen_scram gen_missing");
  });

  it("names an authentication method gen cannot speak", async () => {
    const { login } = await doctor({ port: postgres.port, user: GSS.name }, GSS.password);
    assert.equal(login.status, "fail");
    assert.equal(login.detail, "the server asks for GSSAPI authentication, which gen cannot speak (cleartext password, md5 and SCRAM-SHA-256 only)");
    assert.match(login.fix ?? "", /^set the method of gen_gss's line in pg_hba\.conf .* to scram-sha-256, then sudo systemctl reload postgresql$/);
  });

  it("says that a role with only a hostssl line cannot log in to a server without SSL, and gives the pg_hba line", async () => {
    const { login } = await doctor({ port: postgres.port, user: SSL_ONLY.name }, SSL_ONLY.password);
    assert.equal(login.status, "fail");
    assert.match(
      login.detail,
      /^the server refused the login: no pg_hba\.conf entry for host "127\.0\.0\.1", user "gen_sslonly", database "gen_app", no encryption \(it offers no SSL: .*only a hostssl line, which needs SSL\)$/,
    );
    assert.match(
      login.fix ?? "",
      /^add "host gen_app gen_sslonly 127\.0\.0\.1\/32 scram-sha-256" to pg_hba\.conf .* above any other line that matches, then sudo systemctl reload postgresql$/,
    );
  });

  it("shows a user name that is a secret as its placeholder, also where the server's message quotes it", async () => {
    const { login, text } = await doctor({ port: postgres.port, user: { secret: "TEST_DB_USER" } }, SSL_ONLY.password, true, { TEST_DB_USER: SSL_ONLY.name });
    assert.equal(login.subject, "[secret:TEST_DB_USER]@gen_app");
    assert.match(
      login.detail,
      /^the server refused the login: no pg_hba\.conf entry for host "127\.0\.0\.1", user "\[secret:TEST_DB_USER\]", database "gen_app", no encryption /,
    );
    assert.ok(!text.includes(SSL_ONLY.name) && !JSON.stringify(login).includes(SSL_ONLY.name), `the secret user name shows:\n${text}`);
  });

  it("says nothing answers when nothing listens, and does not try to log in", async () => {
    const closed = await freePort();
    const { postgres: reach, login } = await doctor({ port: closed, user: SCRAM.name }, SCRAM.password);
    assert.equal(reach.status, "fail");
    assert.match(reach.detail, new RegExp(`^nothing answers on 127\\.0\\.0\\.1:${closed} \\(.*refused`));
    assert.match(reach.fix ?? "", /^sudo apt-get install postgresql && sudo systemctl enable --now postgresql/);
    assert.equal(login.status, "warn");
    assert.equal(login.detail, `not checked: PostgreSQL does not answer on 127.0.0.1:${closed} (see above)`);
  });

  it("without the password secret, checks that PostgreSQL answers and says the login was not checked", async () => {
    const { postgres: reach, login } = await doctor({ port: postgres.port, user: SCRAM.name }, undefined);
    assert.equal(reach.status, "ok", reach.detail);
    assert.equal(login.status, "warn");
    assert.equal(login.detail, "not checked: postgres.password: secret TEST_DB_PASSWORD is not set");
    assert.match(login.fix ?? "", /^set TEST_DB_PASSWORD to check the login \(export TEST_DB_PASSWORD=\.\.\. or add it to .*environments\/t\.secrets\.env\)$/);
  });

  it("logs in over SSL when the server offers it, also as a role that may only log in over SSL", async () => {
    const ssl = await startPostgres({ roles: [SSL_ONLY], databases: [DATABASE], ssl: true });
    try {
      const { login } = await doctor({ port: ssl.port, user: SSL_ONLY.name }, SSL_ONLY.password);
      assert.equal(login.status, "ok", login.detail);
      assert.equal(login.detail, `logged in as gen_sslonly to database ${DATABASE} on 127.0.0.1:${ssl.port} over SSL (scram-sha-256)`);
    } finally {
      await ssl.stop();
    }
  });
});
