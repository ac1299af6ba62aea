"""What the collection machinery is doing, for the operations page."""

import logging
from datetime import datetime, timedelta

from celery import current_app as app
from django.db.models import Q
from kombu.exceptions import KombuError

from metrics.models import MetricSource, SourceHealth, SourceKind
from ops import selectors as ops_selectors

logger = logging.getLogger(__name__)


def queue_depth() -> tuple[int | None, str]:
    """How many tasks wait on the default queue, or None and why not."""
    name = app.conf.task_default_queue
    try:
        with app.connection_for_read() as connection, connection.channel() as channel:
            try:
                _, count, _ = channel.queue_declare(queue=name, passive=True)
            except connection.channel_errors:
                return 0, ""  # Redis keeps no empty queue: nothing waits
            return count, ""
    except (KombuError, OSError) as error:
        logger.warning("Could not read the depth of queue %s: %s", name, error)
        return None, f"the broker did not say ({error})"


def operations_overview(*, now: datetime) -> dict:
    collected = MetricSource.objects.filter(is_active=True).exclude(kind=SourceKind.MANUAL)
    depth, depth_problem = queue_depth()
    return {
        "workers": ops_selectors.workers_seen(now=now),
        "queue_depth": depth,
        "queue_problem": depth_problem,
        "sources_total": collected.count(),
        "due": collected.filter(Q(next_due_at__lte=now) | Q(next_due_at__isnull=True)).count(),
        "overdue": list(
            collected.filter(next_due_at__lt=now - timedelta(minutes=1))
            .select_related("kpi__project")
            .order_by("next_due_at")[:50]
        ),
        "failing": list(
            collected.filter(health=SourceHealth.FAILING)
            .select_related("kpi__project")
            .order_by("-consecutive_failures")[:50]
        ),
        "now": now,
    }
