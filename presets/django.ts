// Preset "django": a Django application on one server, what `gen init` builds on. Gunicorn (its socket, its
// service and the handover unit) behind nginx, logrotate, settings_local.py and the sudoers drop-in; every name and
// path derives from app.name, server.deployUser and app.domain, which the environment gives. Celery, Redis,
// PostgreSQL and a front end are absent (null): an environment adds each one it has (`celery: {}`, `redis: {}`,
// `postgres: { password: secret("DB_PASSWORD") }`, `release: { frontend: {} }`). The media folder is there
// (`paths: { media: null }` removes it).
import { defineBase, secret } from "gen";

export default defineBase({
  description: "Django + Gunicorn + nginx on one server",
  celery: null,
  redis: null,
  postgres: null,
  django: { settings: { SECRET_KEY: secret("DJANGO_SECRET_KEY"), DEBUG: false } },
  release: { frontend: null },
});
