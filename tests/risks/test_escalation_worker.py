"""The escalation task, run by a real Celery worker on the configured broker and database."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from risks import services
from risks.models import RiskEscalation
from risks.tasks import risk_escalate_overdue


@pytest.mark.django_db(transaction=True)
def test_a_worker_escalates_once_however_often_the_task_runs(
    celery_worker_process, test_queue, project_a, alice
):
    project_a.manager = alice
    project_a.save()
    risk = services.risk_create(
        project=project_a,
        by=alice,
        title="Production outage during cutover",
        likelihood=3,
        impact=5,
        assessed_at=timezone.now() - timedelta(hours=30),
    )
    for _ in range(3):
        risk_escalate_overdue.apply_async(args=[project_a.pk], queue=test_queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Notification.objects.count() == 0:
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.25)
    time.sleep(2)  # let the other two runs finish too
    assert RiskEscalation.objects.filter(risk=risk, resolved_at__isnull=True).count() == 1
    assert Notification.objects.filter(user=alice).count() == 1
