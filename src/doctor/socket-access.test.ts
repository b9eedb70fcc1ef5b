// What gen doctor asks the server about the Gunicorn socket: the release user's membership of its group, only where
// the socket is and only when its mode does not let anyone connect.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EnvironmentInputSchema, resolveEnvironment } from "../../schema/index.js";
import { socketAccessSpec } from "./socket-access.js";

function environment(overrides: { gunicorn?: Record<string, unknown>; release?: Record<string, unknown> } = {}) {
  return resolveEnvironment(
    EnvironmentInputSchema.parse({
      server: { host: "example.org", deployUser: "deployer" },
      app: { name: "tsosi", domain: "tsosi.org" },
      postgres: { name: "tsosi", user: "tsosi", password: { secret: "P" } },
      django: { settings: { SECRET_KEY: { secret: "K" } } },
      ...overrides,
    }),
  );
}

test("the release user must be in the socket's group (www-data, 0660 by default), with the usermod that puts it there", () => {
  assert.deepEqual(socketAccessSpec(environment(), ["web", "worker"]), {
    user: "deployer",
    socket: "/run/tsosi_gunicorn.sock",
    owner: "www-data",
    group: "www-data",
    mode: 0o660,
    shownMode: "0660",
    fix: "sudo usermod -aG www-data deployer (it takes effect at deployer's next login: an SSH session already open keeps its groups)",
    modeFix: `set gunicorn.socketMode so that the socket's group may write to it (the default is "0660")`,
  });
});

test("the release user is release.sshUser when set, and the group gunicorn.socketGroup", () => {
  const spec = socketAccessSpec(environment({ release: { sshUser: "releaser" }, gunicorn: { socketGroup: "gunicorn" } }), ["web"]);
  assert.equal(spec?.user, "releaser");
  assert.equal(spec?.group, "gunicorn");
  assert.match(spec?.fix ?? "", /^sudo usermod -aG gunicorn releaser /);
});

test("nothing to check on a host without the web role, or for a socket anyone may connect to", () => {
  assert.equal(socketAccessSpec(environment(), ["worker"]), null);
  assert.equal(socketAccessSpec(environment({ gunicorn: { socketMode: "0666" } }), ["web"]), null);
  assert.equal(socketAccessSpec(environment({ gunicorn: { socketMode: "0662" } }), ["web"]), null);
});

test("a mode that keeps the group out needs a new mode as well as the membership", () => {
  const spec = socketAccessSpec(environment({ gunicorn: { socketMode: "0600" } }), ["web"]);
  assert.match(spec?.fix ?? "", /^sudo usermod -aG www-data deployer \(.*\), and set gunicorn\.socketMode so that the socket's group may write to it/);
  const owner = socketAccessSpec(environment({ gunicorn: { socketMode: "0460", socketUser: "deployer" } }), ["web"]);
  assert.match(owner?.modeFix ?? "", /the socket's owner may write/);
});
