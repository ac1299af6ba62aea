"""Background tasks of the projects app."""

from celery import shared_task

from projects import services


@shared_task(bind=True)
def worker_heartbeat(self) -> None:
    """Record that a worker is alive and the scheduler is sending it work."""
    services.worker_heartbeat_record(hostname=self.request.hostname or "")
