"""Background tasks of the dashboards app."""

from celery import shared_task

from dashboards import reports


@shared_task
def status_snapshot_record() -> int:
    """Record every project's rating for today."""
    return reports.status_snapshot_record()


@shared_task
def status_reports_send() -> int:
    """E-mail the weekly status reports (each subscriber once per week)."""
    return reports.status_reports_send()
