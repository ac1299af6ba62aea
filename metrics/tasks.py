"""Collection: a dispatcher claims due sources; one poll task per source and slot."""

from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from core.outbox import enqueue
from metrics import services
from metrics.collection.collectors import SourceError


@shared_task
def metric_sources_dispatch() -> int:
    """Claim due sources and enqueue their polls once the claim is committed."""
    claimed = services.metric_sources_claim_due()
    for source_id, slot in claimed:
        enqueue(metric_source_poll, source_id, slot.isoformat(), queue=settings.METRIC_POLL_QUEUE)
    services.kpi_status_refresh_stale()
    return len(claimed)


@shared_task(
    bind=True,
    soft_time_limit=60,
    time_limit=90,
    # A source that failed for now, or a database that was away (restarting, failing over).
    autoretry_for=(SourceError, OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
)
def metric_source_poll(self, source_id: int, slot: str) -> bool:
    """Poll one source for one slot; retries transient failures with exponential backoff
    (a retry of a slot already recorded writes nothing)."""
    measurement = services.metric_source_poll(
        source_id=source_id, slot=datetime.fromisoformat(slot)
    )
    return measurement is not None
