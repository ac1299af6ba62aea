"""Collection: a dispatcher claims due sources; one poll task per source and slot."""

from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import transaction

from metrics import services
from metrics.collectors import SourceError


@shared_task
def metric_sources_dispatch() -> int:
    """Claim due sources and enqueue their polls once the claim is committed."""
    claimed = services.metric_sources_claim_due()
    for source_id, slot in claimed:
        transaction.on_commit(
            lambda source_id=source_id, slot=slot: metric_source_poll.apply_async(
                args=[source_id, slot.isoformat()], queue=settings.METRIC_POLL_QUEUE
            )
        )
    services.kpi_status_refresh_stale()
    return len(claimed)


@shared_task(
    bind=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(SourceError,),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
)
def metric_source_poll(self, source_id: int, slot: str) -> bool:
    """Poll one source for one slot; retries transient failures with exponential backoff."""
    measurement = services.metric_source_poll(
        source_id=source_id, slot=datetime.fromisoformat(slot)
    )
    return measurement is not None
