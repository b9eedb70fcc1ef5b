// Secret values from the process environment, the secrets file or a default: every reference checked at once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { readSecretsFile, resolveSecrets } from "./resolve.js";

const FILE = "environments/t.secrets.env";
const reference = (secret: string, field = "postgres.password") => ({ field, ref: { secret } });

function resolved(processEnv: NodeJS.ProcessEnv, names: string[]) {
  return resolveSecrets(
    names.map((name) => reference(name, `f.${name}`)),
    { processEnv, secretsFile: FILE, fileValues: {} },
  );
}

test("a variable set to nothing is not set", () => {
  assert.deepEqual(resolved({ EMPTY: "" }, ["EMPTY"]), {
    missing: [`f.EMPTY: secret EMPTY is not set: export EMPTY=... or add it to ${FILE}`],
  });
});

test("takes a value of 8 characters and refuses one of 7", () => {
  const result = resolved({ EIGHT: "12345678", SEVEN: "1234567" }, ["EIGHT", "SEVEN"]);
  assert.deepEqual(result, {
    missing: ["f.SEVEN: secret SEVEN is shorter than 8 characters: too weak, and too short to be redacted from output reliably"],
  });
  const eight = resolved({ EIGHT: "12345678" }, ["EIGHT"]);
  assert.ok("values" in eight);
  assert.equal(eight.values.lookup({ secret: "EIGHT" }), "12345678");
});

test("the lookup refuses a reference that was not resolved, rather than give undefined", () => {
  const result = resolved({ KNOWN: "known-value" }, ["KNOWN"]);
  assert.ok("values" in result);
  assert.throws(() => result.values.lookup({ secret: "OTHER" }), { message: "secret OTHER was not resolved" });
});

const temp = mkdtempSync(join(tmpdir(), "gen-resolve-"));
after(() => rmSync(temp, { recursive: true, force: true }));

test("a secrets file that is a folder is an error naming it as shown", () => {
  assert.throws(() => readSecretsFile(temp, FILE), {
    name: "GenError",
    message: `cannot read the secrets file ${FILE}: it is a folder; make it readable to you, or export its variables instead`,
  });
});

test("a secrets file that does not exist holds nothing", () => {
  assert.deepEqual(readSecretsFile(join(temp, "none.secrets.env")), {});
});

test("a secrets file that cannot be read for another reason is an error with the system's own words", async () => {
  // A socket where the file should be: open() fails with ENXIO, neither "permission denied" nor "it is a folder".
  const socket = join(temp, "socket.secrets.env");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  try {
    assert.throws(() => readSecretsFile(socket, FILE), {
      name: "GenError",
      message: `cannot read the secrets file ${FILE}: ENXIO: no such device or address, open '${socket}'; make it readable to you, or export its variables instead`,
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
