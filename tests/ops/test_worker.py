"""A real Celery worker, on the configured broker, runs the scheduled heartbeat."""

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ops import selectors
from ops.services import WORKER_HEARTBEAT_KEY
from ops.tasks import worker_heartbeat


@pytest.mark.django_db
def test_a_worker_runs_the_heartbeat_and_the_health_check_sees_it(
    celery_worker_process, test_queue, client
):
    cache.delete(WORKER_HEARTBEAT_KEY)
    assert client.get("/health/").json()["worker"] == "never seen"
    sent_at = timezone.now()
    worker_heartbeat.apply_async(queue=test_queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and cache.get(WORKER_HEARTBEAT_KEY) is None:
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.25)
    age = selectors.worker_heartbeat_age(now=timezone.now())
    assert age is not None, f"no heartbeat within 60 s on {settings.CELERY_BROKER_URL}"
    assert age <= timezone.now() - sent_at
    assert client.get("/health/").json()["worker"] == "ok"
