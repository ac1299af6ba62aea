"""KPIs over the API: series read by range and reduced in the database; measurements pushed
in batches, all or none, idempotent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.models import KPI, Measurement, MetricSource
from tests.factories import KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi(project_a):
    return KPIFactory(project=project_a, name="API p95 latency", unit="ms")


def test_a_pushed_batch_is_read_back_reduced_to_the_points_asked_for(client, bob, kpi):
    client.force_login(bob)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=5)
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
