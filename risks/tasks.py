from celery import shared_task

from risks import services


@shared_task
def risk_escalate_overdue(project_id: int | None = None) -> int:
    """Escalate what is overdue (in one project, or everywhere); returns how many."""
    project_ids = None if project_id is None else [project_id]
    return len(services.risk_escalate_overdue(project_ids=project_ids))
