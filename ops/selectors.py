from datetime import datetime, timedelta

from django.core.cache import cache

from ops.services import WORKER_HEARTBEAT_KEY, WORKERS_SEEN_KEY


def worker_heartbeat_age(*, now: datetime) -> timedelta | None:
    """How long ago a worker last ran the heartbeat task; None if it never has."""
    recorded = cache.get(WORKER_HEARTBEAT_KEY)
    return now - datetime.fromisoformat(recorded) if recorded else None


def workers_seen(*, now: datetime) -> list[tuple[str, timedelta]]:
    """(worker, how long ago it last ran the heartbeat), most recent first."""
    seen = cache.get(WORKERS_SEEN_KEY) or {}
    return sorted(
        ((name, now - datetime.fromisoformat(at)) for name, at in seen.items()),
        key=lambda pair: pair[1],
    )
