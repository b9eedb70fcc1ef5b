// Preset "tsosi": the TSOSI application as the reference deployment runs it, on top of preset:django. An environment
// builds on it with `extends: "preset:tsosi"` and adds the server it runs on (environments/prod.ts).
import { defineEnvironment, secret } from "gen";

export default defineEnvironment({
  extends: "preset:django",
  description: "TSOSI: Django + Gunicorn + Celery + Redis + PostgreSQL + Nginx on one server",
  app: {
    name: "tsosi",
    domain: "tsosi.org",
    redirectDomains: ["www.tsosi.org"],
  },
  celery: {},
  // The application reads Redis's address from these settings (and CACHES, which gen writes with any Redis).
  redis: { settings: { TSOSI_CELERY_BROKER_URL: "url", TSOSI_REDIS_HOST: "host", TSOSI_REDIS_PORT: "port", TSOSI_REDIS_DB: "db" } },
  postgres: {
    name: "tsosi",
    user: "tsosi_user",
    password: secret("TSOSI_DB_PASSWORD"),
  },
  nginx: { siteName: "tsosi-app" },
  logrotate: { rotate: 5, frequency: "weekly", minsize: "5k", maxsize: "100k" },
  django: {
    settingsModule: "backend_site.settings",
    settings: {
      SECRET_KEY: secret("TSOSI_SECRET_KEY"),
      DEBUG: false,
    },
    // Under paths.logs (/var/log/tsosi), rotated with the rest.
    logFiles: {
      ERROR_LOG_FILE: "error.log",
      TSOSI_MAIN_LOG_FILE: "tsosi_app.log",
      TSOSI_DATA_LOG_FILE: "tsosi_data.log",
      TSOSI_DJANGO_LOG_FILE: "django.log",
    },
    // Error reports, and data files waiting for the ingestion jobs: in the deploy user's home, prepared by gen.
    folders: { TSOSI_ERROR_OUTPUT_FOLDER: "~/tsosi_errors", TSOSI_TO_INGEST_DIR: "~/tsosi_to_ingest" },
    extra: {
      DJANGO_LOG_LEVEL: "INFO",
      DRF_NUM_PROXIES: 1,
      TSOSI_LOG_LEVEL: "INFO",
      TSOSI_FRONTEND_CUSTOM_HEADER: "X-Frontend-Origin",
      TSOSI_PUBLIC_RELPATH: "../public/",
      TSOSI_TRIGGER_JOBS: true,
      TSOSI_API_WHITELIST_IPS: ["127.0.0.1"],
    },
    // The order of the reference server's settings_local.py, so that its file stays as it is.
    order: [
      "ALLOWED_HOSTS",
      "CACHES",
      "DATABASES",
      "DEBUG",
      "DJANGO_LOG_LEVEL",
      "DRF_NUM_PROXIES",
      "ERROR_LOG_FILE",
      "MEDIA_ROOT",
      "MEDIA_URL",
      "SECRET_KEY",
      "TSOSI_CELERY_BROKER_URL",
      "TSOSI_DATA_LOG_FILE",
      "TSOSI_DJANGO_LOG_FILE",
      "TSOSI_ERROR_OUTPUT_FOLDER",
      "TSOSI_FRONTEND_CUSTOM_HEADER",
      "TSOSI_LOG_LEVEL",
      "TSOSI_MAIN_LOG_FILE",
      "TSOSI_PUBLIC_RELPATH",
      "STATIC_URL",
      "TSOSI_DATA_EXPORT_FOLDER",
      "TSOSI_SCIPOST_AUTH",
      "TSOSI_TO_INGEST_DIR",
      "TSOSI_REDIS_DB",
      "TSOSI_REDIS_HOST",
      "TSOSI_REDIS_PORT",
      "TSOSI_TRIGGER_JOBS",
      "TSOSI_API_RATE",
      "TSOSI_API_WHITELIST_IPS",
    ],
  },
  release: {
    branch: "main",
    keep: 3,
    repository: "https://github.com/tsosi-org/tsosi-app.git",
    manage: [["collectstatic", "--noinput"], ["migrate", "--noinput"], ["fill_static_data"], ["fetch_blog"]],
    frontend: {},
  },
});
