from django.core.cache import cache
from django.utils import timezone

WORKER_HEARTBEAT_KEY = "waymark:worker-heartbeat"


WORKERS_SEEN_KEY = "waymark:workers-seen"


def worker_heartbeat_record(*, hostname: str = "") -> None:
    """Note the time a worker last ran a scheduled task (read by the health check), and which
    worker it was (read by the operations page)."""
    now = timezone.now().isoformat()
    cache.set(WORKER_HEARTBEAT_KEY, now, timeout=None)
    if hostname:
        seen = cache.get(WORKERS_SEEN_KEY) or {}
        seen[hostname] = now
        cache.set(WORKERS_SEEN_KEY, seen, timeout=None)
