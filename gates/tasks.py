from celery import shared_task

from gates import services


@shared_task
def rollout_watch() -> int:
    """Judge the rollback triggers of live rollout stages; returns how many were newly marked."""
    return len(services.rollout_watch())
