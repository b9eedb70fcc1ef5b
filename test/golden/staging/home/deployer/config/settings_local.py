# Managed by gen from environments/staging.ts: edit the environment, not this file.
# `gen diff staging` shows changes made here by hand; `gen apply staging` overwrites them.
# Django settings of this server, imported by backend_site.settings. Every value is a Python literal.
ALLOWED_HOSTS = ["staging.tsosi.org", "127.0.0.1"]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
    },
}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "tsosi_staging",
        "USER": "tsosi_user",
        "PASSWORD": "golden-db-password",
        "HOST": "127.0.0.1",
        "PORT": 5432,
    },
}
DEBUG = False
DJANGO_LOG_LEVEL = "DEBUG"
DRF_NUM_PROXIES = 1
ERROR_LOG_FILE = "/var/log/tsosi/error.log"
MEDIA_ROOT = "/tsosi_media"
MEDIA_URL = "media/"
SECRET_KEY = "golden-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
TSOSI_CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
TSOSI_DATA_LOG_FILE = "/var/log/tsosi/tsosi_data.log"
TSOSI_DJANGO_LOG_FILE = "/var/log/tsosi/django.log"
TSOSI_ERROR_OUTPUT_FOLDER = "/home/deployer/tsosi_errors"
TSOSI_FRONTEND_CUSTOM_HEADER = "X-Frontend-Origin"
TSOSI_LOG_LEVEL = "DEBUG"
TSOSI_MAIN_LOG_FILE = "/var/log/tsosi/tsosi_app.log"
TSOSI_PUBLIC_RELPATH = "../public/"
STATIC_URL = "static/"
TSOSI_TO_INGEST_DIR = "/home/deployer/tsosi_to_ingest"
TSOSI_REDIS_DB = 0
TSOSI_REDIS_HOST = "127.0.0.1"
TSOSI_REDIS_PORT = 6379
TSOSI_TRIGGER_JOBS = False
TSOSI_API_WHITELIST_IPS = ["127.0.0.1"]
