import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend_site.settings")

app = Celery("backend_site")
# CELERY_* settings of backend_site.settings (the broker comes from settings_local's TSOSI_CELERY_BROKER_URL).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
