from celery import shared_task

from gates import integrity, services


@shared_task
def rollout_watch() -> int:
    """Judge the rollback triggers of live rollout stages; returns how many were newly marked."""
    return len(services.rollout_watch())


@shared_task
def gate_audit_checkpoint() -> int:
    """Checkpoint every gate's trail outside the database; returns how many gates it names."""
    return integrity.gate_audit_checkpoint()
