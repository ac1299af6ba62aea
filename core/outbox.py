"""Sending work to the Celery workers, and keeping what the broker could not take.

Every task the code enqueues goes through `enqueue` (tests/projects/test_outbox.py checks that
nothing sends around it): it is sent once the surrounding transaction commits, and if the
broker cannot be reached it is kept as an `OutboxTask` row, which `outbox_resend` (a periodic
task, CELERY_BEAT_SCHEDULE) sends once the broker is back. The work asked for is not lost and
the request that asked does not fail; it waits at most the short publish retry policy of
config/settings.py. Tasks are idempotent, so a resend that is sent twice does no harm."""

import logging

from celery import Task
from celery import current_app as app
from django.db import transaction
from django.db.models import F
from kombu.exceptions import OperationalError as BrokerUnavailable

from core.models import OutboxTask

logger = logging.getLogger(__name__)


def _publish(*, task: str, args: list, queue: str) -> None:
    app.send_task(task, args=args, queue=queue or None)


def _send_or_keep(*, task: str, args: list, queue: str) -> None:
    try:
        _publish(task=task, args=args, queue=queue)
    except BrokerUnavailable as error:
        kept = OutboxTask.objects.create(task=task, args=args, queue=queue, last_error=str(error))
        logger.warning(
            "The broker did not take %s%s (%s); kept as outbox task %s",
            task,
            tuple(args),
            error,
            kept.pk,
        )


def enqueue(task: Task, *args, queue: str | None = None) -> None:
    """Send `task` with `args` (ids and plain values) to a worker once the current transaction
    commits (at once outside one); kept in the outbox if the broker cannot take it."""
    name, arguments = task.name, list(args)
    transaction.on_commit(lambda: _send_or_keep(task=name, args=arguments, queue=queue or ""))


def outbox_resend(*, limit: int = 500, pks=None) -> int:
    """Send the kept tasks (those of `pks`, or all), oldest first, and return how many went.
    Each row is claimed by deleting it in the transaction that sends it (a second resend finds
    it gone); a refusal rolls the deletion back and ends the run, to be tried again at the
    next."""
    sent = 0
    kept_tasks = OutboxTask.objects.order_by("pk")
    if pks is not None:
        kept_tasks = kept_tasks.filter(pk__in=list(pks))
    for kept in kept_tasks[:limit]:
        try:
            with transaction.atomic():
                claimed, _ = OutboxTask.objects.filter(pk=kept.pk).delete()
                if not claimed:
                    continue
                _publish(task=kept.task, args=kept.args, queue=kept.queue)
        except BrokerUnavailable as error:
            OutboxTask.objects.filter(pk=kept.pk).update(
                attempts=F("attempts") + 1, last_error=str(error)
            )
            logger.warning("The broker still refuses outbox task %s: %s", kept.pk, error)
            break
        sent += 1
    if sent:
        logger.info("Sent %s task(s) kept in the outbox", sent)
    return sent
