import logging
import time

from django.http import JsonResponse

from .models import Heartbeat
from .release import current_release

logger = logging.getLogger(__name__)

SLOW_MAX_SECONDS = 600


def index(request):
    """The smoke checks' page: it reads the database (the heartbeats Celery beat's task wrote)."""
    last = Heartbeat.objects.first()
    return JsonResponse(
        {
            "app": "gen sample app",
            "heartbeats": Heartbeat.objects.count(),
            "last_heartbeat": last.created_at.isoformat() if last else None,
            "last_heartbeat_release": last.release if last else None,
        }
    )


def slow(request):
    """Answers 200 after ?seconds=N seconds (at most 600): a long request, to see that it survives a restart.
    Gunicorn's worker timeout (30 s unless --timeout) still applies."""
    try:
        seconds = float(request.GET.get("seconds", "5"))
    except ValueError:
        return JsonResponse({"error": "seconds must be a number"}, status=400)
    if not 0 <= seconds <= SLOW_MAX_SECONDS:
        return JsonResponse({"error": "seconds must be between 0 and %d" % SLOW_MAX_SECONDS}, status=400)
    started = time.monotonic()
    time.sleep(seconds)
    logger.info("slow request of %.1f s answered", seconds)
    return JsonResponse({"slept": seconds, "elapsed": round(time.monotonic() - started, 3), **current_release()})


def release(request):
    """Which release folder this Gunicorn worker runs from (zero-downtime checks)."""
    return JsonResponse(current_release())
