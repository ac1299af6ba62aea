from celery import shared_task

from gates import conditions, integrity, services, staleness


@shared_task
def rollout_watch() -> int:
    """Judge the rollback triggers of live rollout stages; returns how many were newly marked."""
    return len(services.rollout_watch())


@shared_task
def gate_audit_checkpoint() -> int:
    """Checkpoint every gate's trail outside the database; returns how many gates it names."""
    return integrity.gate_audit_checkpoint()


@shared_task
def gate_conditions_escalate_overdue() -> int:
    """Escalate the conditions of CONDITIONAL GO decisions that are past their due date and
    not met (each once for its due date); returns how many were escalated now."""
    return len(conditions.gate_conditions_escalate_overdue())


@shared_task
def gate_approvals_watch() -> int:
    """Watch the approvals within their window; returns how many went stale now."""
    return len(staleness.gate_approvals_watch())
