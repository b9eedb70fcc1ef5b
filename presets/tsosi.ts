// Preset "tsosi": the TSOSI application as the reference deployment runs it. An environment builds on it with
// `extends: "preset:tsosi"` and adds the server it runs on (environments/prod.ts, or what `gen init` writes).
import { defineEnvironment, secret } from "gen";

export default defineEnvironment({
  description: "TSOSI: Django + Gunicorn + Celery + Redis + PostgreSQL + Nginx on one server",
  app: {
    name: "tsosi",
    domain: "tsosi.org",
    redirectDomains: ["www.tsosi.org"],
    poetry: "/home/deployer/.local/bin/poetry",
  },
  paths: {
    webRoot: "/var/www",
    media: "/tsosi_media",
    logs: "/var/log/tsosi",
    config: "/home/deployer/config",
    errors: "/home/deployer/tsosi_errors",
  },
  postgres: {
    name: "tsosi",
    user: "tsosi_user",
    password: secret("TSOSI_DB_PASSWORD"),
  },
  nginx: { siteName: "tsosi-app" },
  logrotate: { rotate: 5, frequency: "weekly", minsize: "5k", maxsize: "100k" },
  django: {
    settings: {
      SECRET_KEY: secret("TSOSI_SECRET_KEY"),
      DEBUG: false,
      TSOSI_API_WHITELIST_IPS: ["127.0.0.1"],
      TSOSI_TRIGGER_JOBS: true,
    },
  },
  release: {
    branch: "main",
    keep: 3,
    repository: "https://github.com/tsosi-org/tsosi-app.git",
  },
});
