// The embedded default: renders with no secrets set and diffs against a local folder instead of a server.
import { defineEnvironment, secret } from "../schema/define.js";

export default defineEnvironment({
  extends: "base",
  description: "Local example: no server, no secrets needed (demo values only)",
  server: { transport: "local", localRoot: ".gen-local/example" },
  app: { domain: "tsosi.localhost", redirectDomains: [], extraAllowedHosts: ["127.0.0.1"] },
  nginx: { tls: false },
  postgres: { password: secret("TSOSI_DB_PASSWORD", { default: "example-password-not-secret" }) },
  django: {
    settings: {
      SECRET_KEY: secret("TSOSI_SECRET_KEY", { default: "example-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ" }),
    },
  },
});
