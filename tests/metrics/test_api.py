"""KPIs over the API: series read by range and reduced in the database; measurements pushed
in batches, all or none, idempotent."""

import math
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from metrics import services
from metrics.models import KPI, Measurement, MetricSource
from tests.factories import KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi(project_a):
    return KPIFactory(project=project_a, name="API p95 latency", unit="ms")


def test_a_pushed_batch_is_read_back_reduced_to_the_points_asked_for(client, bob, kpi):
    client.force_login(bob)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=60)  # 3,000 minutes back
    batch = [
        {"kpi": kpi.pk, "at": (start + timedelta(minutes=n)).isoformat(), "value": 100 + n % 7}
        for n in range(3000)
    ]
    pushed = client.post("/api/v1/measurements/", batch, content_type="application/json")
    assert pushed.status_code == 201 and pushed.json() == {"created": 3000, "already_recorded": 0}
    again = client.post("/api/v1/measurements/", batch[:10], content_type="application/json")
    assert again.json() == {"created": 0, "already_recorded": 10}
    series = client.get(f"/api/v1/kpis/{kpi.pk}/series/?max_points=100").json()
    assert series["measurements"] == 3000 and series["reduced"] is True
    assert len(series["points"]) <= 100
    assert sum(point["count"] for point in series["points"]) == 3000
    assert min(p["low"] for p in series["points"]) == 100
    assert max(p["high"] for p in series["points"]) == 106


def test_v1_takes_a_list_and_refuses_a_bad_batch_whole(client, bob, kpi):
    client.force_login(bob)
    at = timezone.now().isoformat()
    single = client.post(
        "/api/v1/measurements/",
        {"kpi": kpi.pk, "at": at, "value": 1},
        content_type="application/json",
    )
    assert single.status_code == 400 and single.json() == {"detail": "Send a list of measurements."}
    bad = client.post(
        "/api/v1/measurements/",
        [{"kpi": kpi.pk, "at": at, "value": 1}, {"kpi": kpi.pk, "at": at, "value": "NaN"}],
        content_type="application/json",
    )
    assert bad.status_code == 400 and "1" in bad.json()["errors"]
    assert not Measurement.objects.exists()


def test_series_range_is_checked_and_kpis_are_members_only(client, bob, oscar, kpi):
    client.force_login(bob)
    now = timezone.now()
    backwards = client.get(
        f"/api/v1/kpis/{kpi.pk}/series/",
        {"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()},
    )
    assert backwards.status_code == 400
    assert backwards.json()["errors"]["until"] == ["Must not be before since."]
    client.force_login(oscar)
    assert client.get(f"/api/v1/kpis/{kpi.pk}/").status_code == 404
    assert client.get(f"/api/v1/kpis/{kpi.pk}/series/").status_code == 404


# -- KPIs and their sources, set up over the API -------------------------------------------------


def test_an_editor_sets_up_a_kpi_and_its_status_is_judged_on_saving(client, bob, project_a):
    client.force_login(bob)
    created = client.post(
        "/api/v1/kpis/",
        {
            "project": project_a.pk,
            "name": "Write p95",
            "unit": "ms",
            "comparator": "lt",
            "target_value": 15,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    kpi = KPI.objects.get(pk=created.json()["id"])
    assert created.json()["status"] == "no_data"
    MeasurementFactory(kpi=kpi, value=12)
    changed = client.patch(
        f"/api/v1/kpis/{kpi.pk}/", {"target_value": 10}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["status"] == "breached"
    moved = client.patch(
        f"/api/v1/kpis/{kpi.pk}/", {"project": 999}, content_type="application/json"
    )
    assert moved.status_code == 200 and KPI.objects.get(pk=kpi.pk).project == project_a


def test_a_kpi_is_refused_a_phase_of_another_project_and_a_viewer_may_not_change_it(
    client, bob, victor, project_a, project_b, kpi
):
    from tests.factories import PhaseFactory

    foreign_phase = PhaseFactory(project=project_b)
    client.force_login(bob)
    refused = client.patch(
        f"/api/v1/kpis/{kpi.pk}/", {"phase": foreign_phase.pk}, content_type="application/json"
    )
    assert refused.status_code == 404  # not one bob may see
    assert refused.json() == {"detail": f"No phase {foreign_phase.pk} that you may see."}
    client.force_login(victor)
    assert client.get(f"/api/v1/kpis/{kpi.pk}/").status_code == 200
    patched = client.patch(
        f"/api/v1/kpis/{kpi.pk}/", {"name": "x"}, content_type="application/json"
    )
    assert patched.status_code == 403


def test_a_source_secret_is_written_but_never_read(client, bob, victor, kpi):
    client.force_login(bob)
    config = {
        "url": "http://127.0.0.1:9/data",
        "json_path": "data.p95_ms",
        "secret_header": "Authorization",
    }
    created = client.post(
        "/api/v1/metric-sources/",
        {"kpi": kpi.pk, "kind": "http_json", "config": config, "secret": "Bearer s3cr3t"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "secret" not in body and body["has_secret"] is True
    source = MetricSource.objects.get(pk=body["id"])
    assert source.secret == "Bearer s3cr3t" and source.next_due_at is not None
    kept = client.patch(
        f"/api/v1/metric-sources/{source.pk}/",
        {"secret": "", "interval": "00:01:00"},
        content_type="application/json",
    )
    assert kept.status_code == 200
    source.refresh_from_db()
    assert source.secret == "Bearer s3cr3t" and source.interval == timedelta(minutes=1)
    client.force_login(victor)
    listed = client.get(f"/api/v1/metric-sources/?kpi={kpi.pk}").json()["results"]
    assert listed[0]["has_secret"] is True and "s3cr3t" not in str(listed)
    assert (
        client.patch(
            f"/api/v1/metric-sources/{source.pk}/",
            {"is_active": False},
            content_type="application/json",
        ).status_code
        == 403
    )


def test_a_source_with_a_bad_configuration_is_refused_with_the_reason(client, bob, kpi):
    client.force_login(bob)
    refused = client.post(
        "/api/v1/metric-sources/",
        {"kpi": kpi.pk, "kind": "prometheus", "config": {"query": "up"}, "interval": "00:00:01"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    errors = str(refused.json()["errors"])
    assert "url" in errors
    assert not MetricSource.objects.exists()


@pytest.mark.parametrize("interval", ["999999999 00:00:00", "367 00:00:00"])
def test_a_source_interval_beyond_a_year_is_refused_with_the_reason(client, bob, kpi, interval):
    client.force_login(bob)
    refused = client.post(
        "/api/v1/metric-sources/",
        {"kpi": kpi.pk, "kind": "manual", "config": {}, "interval": interval},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "interval": ["Collect at least once a year (every 366 days at most)."]
    }
    assert not MetricSource.objects.exists()


def _batch(kpi, count, *, value=lambda n: 100.0 + n % 7, minutes_back=None):
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes_back or count + 1)
    return [
        {"kpi": kpi.pk, "at": (start + timedelta(minutes=n)).isoformat(), "value": value(n)}
        for n in range(count)
    ]


def test_a_batch_takes_the_same_queries_for_50_points_or_5000(
    client, bob, kpi, django_assert_max_num_queries
):
    """Set-based ingest: a lookup per KPI (per 500 moments on SQLite) and one insert per
    1,000 rows (COPY on PostgreSQL), not a query per point."""
    client.force_login(bob)
    other = KPIFactory(project=kpi.project, name="Error rate", unit="%")

    def pushed(kpi_, count, budget):
        with django_assert_max_num_queries(budget) as captured:
            response = client.post(
                "/api/v1/measurements/", _batch(kpi_, count), content_type="application/json"
            )
        assert response.status_code == 201, response.json()
        assert response.json() == {"created": count, "already_recorded": 0}
        return len(captured)

    fields = [f for f in Measurement._meta.concrete_fields if not f.primary_key]
    rows_per_insert = min(1000, connection.ops.bulk_batch_size(fields, [None] * 5000))
    lookups = math.ceil(5000 / services._lookup_chunk())
    more_queries = (lookups - 1) + (math.ceil(5000 / rows_per_insert) - 1)  # at the most
    small = pushed(kpi, 50, 40)
    large = pushed(other, 5000, small + more_queries)
    assert large <= small + more_queries
    assert Measurement.objects.count() == 5050


def test_a_changed_value_refuses_the_batch_and_names_its_position(client, bob, kpi):
    client.force_login(bob)
    batch = _batch(kpi, 20)
    assert client.post("/api/v1/measurements/", batch, content_type="application/json").json() == {
        "created": 20,
        "already_recorded": 0,
    }
    again = _batch(kpi, 0) + batch[:5] + [{**batch[5], "value": 999.0}] + _batch(kpi, 3)
    refused = client.post("/api/v1/measurements/", again, content_type="application/json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["detail"] == "Nothing was recorded: a value differs from the one recorded."
    assert list(body["errors"]) == ["5"]
    assert "999 was refused" in body["errors"]["5"]["value"][0]
    assert Measurement.objects.count() == 20


def test_one_moment_twice_in_a_batch_is_kept_once_or_refused_if_the_values_differ(client, bob, kpi):
    client.force_login(bob)
    point = _batch(kpi, 1)[0]
    twice = client.post("/api/v1/measurements/", [point, point], content_type="application/json")
    assert twice.json() == {"created": 1, "already_recorded": 1}
    other = {**_batch(kpi, 1, minutes_back=30)[0]}
    differing = [other, {**other, "value": other["value"] + 1}]
    refused = client.post("/api/v1/measurements/", differing, content_type="application/json")
    assert refused.status_code == 409 and list(refused.json()["errors"]) == ["1"]
    assert Measurement.objects.count() == 1


def test_a_measurement_from_the_future_is_refused(client, bob, kpi):
    client.force_login(bob)
    ahead = (timezone.now() + timedelta(hours=1)).isoformat()
    refused = client.post(
        "/api/v1/measurements/",
        [{"kpi": kpi.pk, "at": ahead, "value": 1}],
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"0": {"at": ["A measurement cannot be in the future."]}}


@pytest.mark.django_db(transaction=True)
def test_two_pipelines_pushing_the_same_batch_at_once_record_it_once(bob, kpi):
    """Both answers succeed; between them every point is created once and the rest counted as
    already recorded, whichever commits first."""
    from django.test import Client

    batch = _batch(kpi, 2000)
    barrier, answers = threading.Barrier(2), []

    def push():
        client = Client()
        client.force_login(bob)
        barrier.wait()
        try:
            answers.append(
                client.post("/api/v1/measurements/", batch, content_type="application/json")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(answer.status_code for answer in answers) in ([200, 201], [201, 201])
    bodies = [answer.json() for answer in answers]
    assert sum(body["created"] for body in bodies) == 2000
    assert sum(body["already_recorded"] for body in bodies) == 2000
    assert Measurement.objects.filter(kpi=kpi).count() == 2000


@pytest.mark.parametrize(
    ("item", "answer"),
    [
        ({"kpi": True, "value": 1}, 400),
        ({"kpi": "KPI", "value": 1}, 400),
        ({"value": "fast"}, 400),
        ({"value": 10**400}, 400),
        ({"value": 1, "at": "yesterday"}, 400),
        ({"value": 1, "note": "x" * 501}, 400),
        ({"value": "2.5"}, 201),  # a number in a string, as the serializer reads it
        ({"value": 1, "at": "2026-11-30T10:00:00"}, 201),  # no offset: the portal's zone
        ({"value": 1, "extra": "field"}, 201),  # an unknown key, ignored
    ],
)
def test_a_batch_with_one_item_out_of_the_plain_shape_is_judged_as_the_serializer_does(
    client, bob, kpi, item, answer
):
    """The plain fast path takes only plain items; a batch with any other goes through the
    serializer, which names the position and the field of what is wrong, or accepts it."""
    client.force_login(bob)
    good = _batch(kpi, 3)
    odd = {"kpi": kpi.pk, "at": _batch(kpi, 1, minutes_back=30)[0]["at"], **item}
    response = client.post("/api/v1/measurements/", [*good, odd], content_type="application/json")
    assert response.status_code == answer, response.json()
    if answer == 400:
        assert list(response.json()["errors"]) == ["3"]
    assert Measurement.objects.filter(kpi=kpi).count() == (0 if answer == 400 else 4)


def test_an_editor_sets_how_a_new_status_is_confirmed_and_reads_what_is_pending(client, bob, kpi):
    client.force_login(bob)
    url = f"/api/v1/kpis/{kpi.pk}/"
    changed = client.patch(
        url, {"confirm_readings": 3, "confirm_after": "00:15:00"}, content_type="application/json"
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["confirm_readings"], changed.json()["confirm_after"]) == (3, "00:15:00")
    kpi.refresh_from_db()
    assert (kpi.confirm_readings, kpi.confirm_after) == (3, timedelta(minutes=15))

    refused = client.patch(url, {"confirm_readings": 0}, content_type="application/json")
    assert refused.status_code == 400 and "confirm_readings" in refused.json()["errors"]
    assert KPI.objects.get(pk=kpi.pk).confirm_readings == 3

    # What is pending is judged by the portal, never set by a client.
    client.patch(url, {"pending_status": "breached", "flaps": 9}, content_type="application/json")
    read = client.get(url).json()
    assert (read["pending_status"], read["pending_since"], read["flaps"]) == (None, None, 0)


def test_a_target_change_answers_with_the_judgement_it_leaves_pending(client, bob, kpi):
    now = timezone.now()
    for minutes, value in [(2, 420), (1, 450)]:
        services.measurement_record(kpi=kpi, at=now - timedelta(minutes=minutes), value=value)
        services.kpi_status_refresh(kpi=kpi, now=now - timedelta(minutes=minutes))
    client.force_login(bob)
    changed = client.patch(
        f"/api/v1/kpis/{kpi.pk}/", {"target_value": 430}, content_type="application/json"
    ).json()
    # Only the latest value misses the new target: not yet enough to count as breached.
    assert (changed["status"], changed["pending_status"]) == ("on_target", "breached")
