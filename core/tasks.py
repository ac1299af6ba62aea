"""Background tasks of the core app."""

from celery import shared_task

from core import outbox


@shared_task
def outbox_resend() -> int:
    """Send the tasks the broker could not take when they were sent."""
    return outbox.outbox_resend()
