"""KPIs over the API: series read by range and reduced in the database; measurements pushed
in batches, all or none, idempotent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.models import Measurement
from tests.factories import KPIFactory

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
