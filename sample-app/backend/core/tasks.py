import json
import logging
import os

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import Heartbeat
from .release import current_release

logger = logging.getLogger(__name__)


@shared_task
def heartbeat():
    """Run by beat every few seconds: a row in the database (GET /api/ counts them) and the media file
    heartbeat.json (nginx serves it as /media/heartbeat.json)."""
    release = current_release()["release"]
    beat = Heartbeat.objects.create(release=release)
    count = Heartbeat.objects.count()
    media = settings.MEDIA_ROOT
    data = {"heartbeats": count, "last": beat.created_at.isoformat(), "release": release, "written": timezone.now().isoformat()}
    temporary = os.path.join(media, ".heartbeat.json.tmp")
    with open(temporary, "w") as file:
        json.dump(data, file)
        file.write("\n")
    os.replace(temporary, os.path.join(media, "heartbeat.json"))
    logger.info("heartbeat %d from release %s", count, release)
    return count
