"""End to end with a real Celery worker on the configured broker (Redis in CI's second run):
dispatcher → poll → measurement → status → notification."""

import time

import pytest

from metrics.models import KPIStatus, Measurement
from metrics.tasks import metric_sources_dispatch
from notifications.models import Notification
from tests.factories import KPIFactory, MetricSourceFactory


@pytest.mark.django_db(transaction=True)
def test_a_due_source_is_collected_by_a_worker_and_its_breach_announced(
    celery_worker_process, test_queue, settings, http_server, project_a, alice
):
    settings.METRIC_POLL_QUEUE = test_queue
    url, _ = http_server
    project_a.manager = alice
    project_a.save()
    kpi = KPIFactory(
        project=project_a, name="API p95 latency", unit="ms", comparator="lt", target_value=400
    )
    source = MetricSourceFactory(
        kpi=kpi, kind="http_json", config={"url": f"{url}/json/ok", "json_path": "data.p95_ms"}
    )
    assert metric_sources_dispatch() == 1  # what beat runs every few seconds
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not Notification.objects.filter(user=alice).exists():
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.25)
    (measurement,) = Measurement.objects.filter(source=source)
    assert measurement.value == 420.5
    kpi.refresh_from_db()
    assert kpi.status == KPIStatus.BREACHED
    notification = Notification.objects.get(user=alice)
    assert notification.kind == "kpi_breached" and "API p95 latency" in notification.title
