// The SCRAM-SHA-256 client of the doctor program, run by the python3 of this machine against RFC 7677's example
// (section 3: user "user", password "pencil"): the client proof it sends and the server signature it expects.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { POSTGRES_LOGIN_SCRIPT } from "./postgres-login-script.js";

const CLIENT_FIRST_BARE = "n=user,r=rOprNGfwEbeRWgbNEkqO";
const SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

/** Calls one function of the program with JSON arguments; its JSON result, or the exception's text. */
function call(name: string, ...args: unknown[]): { result?: unknown; error?: string } {
  const harness = `import json, os, struct, sys\n${POSTGRES_LOGIN_SCRIPT}\ntry:\n    print(json.dumps({"result": ${name}(*json.loads(sys.stdin.read()))}))\nexcept Exception as error:\n    print(json.dumps({"error": "%s: %s" % (type(error).__name__, error)}))\n`;
  const run = spawnSync("python3", ["-c", harness], { input: JSON.stringify(args), encoding: "utf8" });
  assert.equal(run.status, 0, `python3 (Debian package python3) ran the program: ${run.error?.message ?? run.stderr}`);
  return JSON.parse(run.stdout) as { result?: unknown; error?: string };
}

test("the SCRAM client computes RFC 7677's client-final-message and expected server signature", () => {
  assert.deepEqual(call("scram_client_final", "pencil", CLIENT_FIRST_BARE, SERVER_FIRST).result, [
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  ]);
});

test("another password gives another proof", () => {
  const [final] = call("scram_client_final", "pencil2", CLIENT_FIRST_BARE, SERVER_FIRST).result as [string, string];
  assert.doesNotMatch(final, /p=dHzbZapWIk4jUhN\+Ute9ytag9zjfMHgsqmmiz7AndVQ=$/);
});

test("the SCRAM client refuses a server nonce that does not extend its own", () => {
  const forged = SERVER_FIRST.replace("r=rOprNGfwEbeRWgbNEkqO", "r=someoneElsesNonce");
  assert.match(call("scram_client_final", "pencil", CLIENT_FIRST_BARE, forged).error ?? "", /^ValueError: the server's SCRAM nonce does not extend gen's$/);
});

test("SASLprep leaves ASCII alone and normalises other passwords as PostgreSQL does (NFKC, odd spaces to space)", () => {
  assert.equal(call("saslprep", "pencil").result, "pencil");
  assert.equal(call("saslprep", "I\u00ADX").result, "IX");
  assert.equal(call("saslprep", "a\u00A0b\u2168").result, "a bIX");
});
