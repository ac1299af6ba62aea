"""Background tasks of the projects app."""

from celery import shared_task

from projects import outbox, reports, services


@shared_task(bind=True)
def worker_heartbeat(self) -> None:
    """Record that a worker is alive and the scheduler is sending it work."""
    services.worker_heartbeat_record(hostname=self.request.hostname or "")


@shared_task
def status_snapshot_record() -> int:
    """Record every project's rating for today."""
    return reports.status_snapshot_record()


@shared_task
def status_reports_send() -> int:
    """E-mail the weekly status reports (each subscriber once per week)."""
    return reports.status_reports_send()


@shared_task
def outbox_resend() -> int:
    """Send the tasks the broker could not take when they were sent."""
    return outbox.outbox_resend()
