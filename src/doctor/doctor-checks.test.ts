// Fixes gen doctor names for prod that can run on a server that lacks what they fix.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_MIN_FREE_MB } from "../cli/commands/doctor.js";
import { loadEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { doctorSpec } from "./doctor-checks.js";

async function prodSpec() {
  const loaded = await loadEnvironment("prod", { environmentsDir: join(packageRoot, "environments"), secrets: false });
  return doctorSpec(loaded.environment, { envName: "prod", roles: ["web", "worker"], root: "/", minFreeMb: DEFAULT_MIN_FREE_MB });
}

test("a server without sudo is told to install it as root, not with sudo", async () => {
  const { sudo } = await prodSpec();
  assert.equal(sudo.installFix, "su -c 'apt-get install sudo' (with root's password)");
});

test("a missing certificate is fixed with certbot and its nginx plugin, installed first (Debian packages of their own)", async () => {
  const { certificates } = await prodSpec();
  assert.ok(certificates.length > 0);
  for (const certificate of certificates) {
    assert.match(certificate.fix, /^sudo apt-get install certbot python3-certbot-nginx && sudo certbot certonly --nginx -d tsosi\.org /);
  }
});
