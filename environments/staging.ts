// A second server: same application, its own domain, fewer workers, debug logging.
import { defineEnvironment } from "gen";

export default defineEnvironment({
  extends: "preset:tsosi",
  description: "TSOSI staging",
  server: { host: "staging.tsosi.org", sshUser: "deployer" },
  app: { domain: "staging.tsosi.org", redirectDomains: [], extraAllowedHosts: ["127.0.0.1"] },
  gunicorn: { workers: 2 },
  postgres: { name: "tsosi_staging" },
  django: { extra: { DJANGO_LOG_LEVEL: "DEBUG", TSOSI_LOG_LEVEL: "DEBUG", TSOSI_TRIGGER_JOBS: false } },
  release: { keep: 2, branch: "develop" },
});
