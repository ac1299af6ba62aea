"""Claiming due sources, polling idempotently, recording failures, alerting on breaches."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from metrics import services
from metrics.collection.collectors import SourceError
from metrics.models import KPIStatus, Measurement, MetricSource
from notifications.models import Notification
from tests.factories import KPIFactory, MetricSourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_source(http_server, project_a, alice):
    url, _ = http_server
    project_a.manager = alice
    project_a.save()
    kpi = KPIFactory(project=project_a, name="API p95 latency", comparator="lt", target_value=500)
    return MetricSourceFactory(
        kpi=kpi, kind="http_json", config={"url": f"{url}/json/ok", "json_path": "data.p95_ms"}
    )


def test_due_sources_are_claimed_with_their_slot_and_moved_on(json_source):
    now = timezone.now()
    MetricSource.objects.filter(pk=json_source.pk).update(next_due_at=now - timedelta(seconds=30))
    ((source_id, slot),) = services.metric_sources_claim_due(now=now)
    assert source_id == json_source.pk and slot == now - timedelta(seconds=30)
    json_source.refresh_from_db()
    assert json_source.next_due_at == slot + json_source.interval
    assert services.metric_sources_claim_due(now=now) == []


def test_manual_and_inactive_sources_are_never_claimed(project_a):
    MetricSourceFactory(kind="manual")
    MetricSourceFactory(
        is_active=False, kind="http_json", config={"url": "http://127.0.0.1/", "json_path": "a"}
    )
    assert services.metric_sources_claim_due() == []


def test_a_poll_records_once_per_slot_and_judges_the_kpi(json_source):
    slot = timezone.now().replace(microsecond=0)
    first = services.metric_source_poll(source_id=json_source.pk, slot=slot)
    again = services.metric_source_poll(source_id=json_source.pk, slot=slot)
    assert first.value == 420.5 and again is None
    assert Measurement.objects.filter(source=json_source).count() == 1
    json_source.refresh_from_db()
    json_source.kpi.refresh_from_db()
    assert json_source.health == "ok" and json_source.consecutive_failures == 0
    assert json_source.kpi.status == KPIStatus.ON_TARGET


def test_failures_are_recorded_and_after_three_the_owner_is_told(json_source, http_server, alice):
    url, _ = http_server
    json_source.config = {"url": f"{url}/json/string", "json_path": "data.p95_ms"}
    json_source.save()
    for minute in range(4):
        slot = timezone.now() + timedelta(minutes=minute)
        assert services.metric_source_poll(source_id=json_source.pk, slot=slot) is None
    json_source.refresh_from_db()
    assert json_source.consecutive_failures == 4
    assert json_source.health == "failing"
    assert 'is not a number: "fast"' in json_source.last_error
    assert not Measurement.objects.filter(source=json_source).exists()
    assert Notification.objects.filter(user=alice, kind="source_failing").count() == 1


def test_transient_failures_are_raised_for_retry_after_being_recorded(json_source):
    json_source.config = {"url": "http://127.0.0.1:9/x", "json_path": "a"}
    json_source.save()
    with pytest.raises(SourceError):
        services.metric_source_poll(source_id=json_source.pk, slot=timezone.now())
    json_source.refresh_from_db()
    assert json_source.consecutive_failures == 1 and "Could not connect" in json_source.last_error


def test_a_breach_is_announced_once_and_so_is_the_recovery(
    json_source, alice, django_capture_on_commit_callbacks
):
    kpi = json_source.kpi
    now = timezone.now()
    # Each change holds for the two readings that confirm it.
    for minutes, value in [(0, 420), (1, 620), (2, 640), (3, 410), (4, 400)]:
        services.measurement_record(kpi=kpi, at=now + timedelta(minutes=minutes), value=value)
        services.kpi_status_refresh(kpi=kpi, now=now + timedelta(minutes=minutes))
    kinds = list(
        Notification.objects.filter(user=alice)
        .order_by("created_at")
        .values_list("kind", flat=True)
    )
    assert kinds == ["kpi_breached", "kpi_recovered"]


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_claim_disjoint_sources(project_a):
    sources = [
        MetricSourceFactory(kind="http_json", config={"url": "http://127.0.0.1/", "json_path": "a"})
        for _ in range(40)
    ]
    assert sources
    results, barrier = [], threading.Barrier(2)

    def dispatch():
        barrier.wait()
        try:
            results.append(services.metric_sources_claim_due(limit=25))
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = ({source_id for source_id, _ in claimed} for claimed in results)
    assert not first & second
    assert len(first | second) == 40
