"""Writes to plans that carry a rule."""

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from projects.models import ChecklistItem


@transaction.atomic
def checklist_item_save(*, item: ChecklistItem, by) -> ChecklistItem:
    """Save `item`; ticking it records who did and when, unticking clears both."""
    was_done = (
        ChecklistItem.objects.filter(pk=item.pk).values_list("done", flat=True).first()
        if item.pk
        else False
    )
    if item.done and not was_done:
        item.done_at, item.done_by = timezone.now(), by
    elif not item.done:
        item.done_at, item.done_by = None, None
    item.full_clean()
    item.save()
    return item


WORKER_HEARTBEAT_KEY = "waymark:worker-heartbeat"


def worker_heartbeat_record() -> None:
    """Note the time a worker last ran a scheduled task (read by the health check)."""
    cache.set(WORKER_HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)
