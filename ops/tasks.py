"""Background tasks of the ops app."""

from celery import shared_task

from ops import services


@shared_task(bind=True)
def worker_heartbeat(self) -> None:
    """Record that a worker is alive and the scheduler is sending it work."""
    services.worker_heartbeat_record(hostname=self.request.hostname or "")
