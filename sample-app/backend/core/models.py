from django.db import models


class Heartbeat(models.Model):
    """One row per run of the heartbeat task (Celery beat schedules it every few seconds)."""

    created_at = models.DateTimeField(auto_now_add=True)
    # The release folder the Celery worker ran from (its working directory, resolved).
    release = models.CharField(max_length=200)

    class Meta:
        ordering = ["-id"]
