# The sample app's settings. Everything that belongs to a server (hosts, database, secret key, debug, log files,
# media folder, Redis) comes from settings_local.py, the file gen renders and links into each release as
# backend_site/settings_local.py; this module only adds what is the same on every server.
from pathlib import Path

import django

from .settings_local import *  # noqa: F401,F403
from .settings_local import (
    CACHES,
    DJANGO_LOG_LEVEL,
    ERROR_LOG_FILE,
    TSOSI_CELERY_BROKER_URL,
    TSOSI_DJANGO_LOG_FILE,
    TSOSI_LOG_LEVEL,
    TSOSI_MAIN_LOG_FILE,
)

# backend/: collectstatic writes into backend/static/, the folder nginx serves as /static/ for the live release.
BASE_DIR = Path(__file__).resolve().parent.parent
STATIC_ROOT = BASE_DIR / "static"

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "core",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "backend_site.urls"
WSGI_APPLICATION = "backend_site.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Django 3.2 (Debian 12's python3-django) has no Redis cache backend (Django 4.0 added it): keep the server's
# cache settings, but with a backend this Django has.
if django.VERSION < (4, 0):
    CACHES = {
        alias: (
            {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": alias}
            if cache.get("BACKEND") == "django.core.cache.backends.redis.RedisCache"
            else cache
        )
        for alias, cache in CACHES.items()
    }

# Celery (backend_site/celery.py reads the CELERY_* settings): the broker is the server's Redis.
CELERY_BROKER_URL = TSOSI_CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "core.tasks.heartbeat", "schedule": 5.0},
}

# Into the log files of settings_local, which logrotate rotates. `delay`: a file is opened at its first record,
# so `manage.py check` works where the log folder does not exist.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"},
    },
    "handlers": {
        "error_file": {
            "class": "logging.FileHandler",
            "filename": ERROR_LOG_FILE,
            "level": "ERROR",
            "formatter": "plain",
            "delay": True,
        },
        "main_file": {
            "class": "logging.FileHandler",
            "filename": TSOSI_MAIN_LOG_FILE,
            "formatter": "plain",
            "delay": True,
        },
        "django_file": {
            "class": "logging.FileHandler",
            "filename": TSOSI_DJANGO_LOG_FILE,
            "formatter": "plain",
            "delay": True,
        },
    },
    "loggers": {
        "django": {"handlers": ["django_file", "error_file"], "level": DJANGO_LOG_LEVEL},
        "core": {"handlers": ["main_file", "error_file"], "level": TSOSI_LOG_LEVEL, "propagate": False},
    },
}
