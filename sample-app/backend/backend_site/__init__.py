# Celery's app is loaded with Django, so that @shared_task uses it (celery -A backend_site finds it here too).
from .celery import app as celery_app

__all__ = ("celery_app",)
