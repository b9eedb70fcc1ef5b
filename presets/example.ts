// Preset "example", the embedded default: what `gen render` with no environment renders, with no environments
// folder, no secrets set and no server. Its transport is a local folder, so diff, apply and deploy run as a sandbox.
import { defineEnvironment, secret } from "gen";

export default defineEnvironment({
  extends: "preset:tsosi",
  description: "Local example: no server, no secret values needed (demo values only)",
  server: { transport: "local", localRoot: ".gen-local/example" },
  app: { domain: "tsosi.localhost", redirectDomains: [], extraAllowedHosts: ["127.0.0.1"] },
  nginx: { tls: false },
  postgres: { password: secret("TSOSI_DB_PASSWORD", { default: "example-password-not-secret" }) },
  django: {
    settings: {
      SECRET_KEY: secret("TSOSI_SECRET_KEY", { default: "example-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ" }),
    },
  },
  // For gen's sample app (sample-app/ in the package, a Django project): the local commit is released, nothing is
  // fetched or installed, and Django is not needed on this machine: the release task only byte-compiles the backend
  // (a syntax error fails the deploy), and no migration plan is read.
  release: {
    source: "archive",
    install: [],
    tasks: [["python3", "-m", "compileall", "-q", "."]],
    migrations: null,
    frontend: { build: [["node", "build.mjs"]] },
  },
});
