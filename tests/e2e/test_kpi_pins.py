"""A member pins the KPI they watch on the project's dashboard: it moves first, under
"Pinned", and stays there after a reload; without JavaScript the same button works."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.models import KPIPin, KPIStatus
from tests.factories import KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kpis(project_a):
    """Three KPIs with a day of values, worst first as the dashboard orders them, and one
    without values."""
    now = timezone.now()
    made = []
    for name, status, value in (
        ("p95 write latency", KPIStatus.BREACHED, 620),
        ("Error rate", KPIStatus.WARNING, 480),
        ("Replication lag", KPIStatus.ON_TARGET, 120),
    ):
        kpi = KPIFactory(project=project_a, name=name, status=status)
        for hours in (20, 12, 4):
            MeasurementFactory(kpi=kpi, at=now - timedelta(hours=hours), value=value + hours)
        made.append(kpi)
    KPIFactory(project=project_a, name="Cutover rehearsals")  # no values yet: a one-line tile
    return made


def test_a_pinned_kpi_shows_first_and_stays_first_after_a_reload(
    new_page, live_server, log_in, alice, project_a, kpis, screenshot
):
    latency, errors, lag = kpis
    page = new_page()
    log_in(page, "alice")
    page.goto(f"{live_server.url}/projects/{project_a.pk}/status/")
    first_tile = page.locator("#kpi-tiles .kpi-tile").first
    expect(first_tile).to_have_id(f"kpi-tile-{latency.pk}")
    expect(page.locator("#kpi-group-pinned")).to_have_count(0)

    page.get_by_role("button", name="Pin Replication lag first").click()
    expect(page.locator("#kpi-group-pinned")).to_have_text("Pinned")
    expect(first_tile).to_have_id(f"kpi-tile-{lag.pk}")
    unpin = page.get_by_role("button", name="Unpin Replication lag")
    expect(unpin).to_be_focused()

    page.reload()
    expect(first_tile).to_have_id(f"kpi-tile-{lag.pk}")
    expect(page.locator(f"#kpi-tile-{lag.pk}")).to_contain_text("Replication lag")
    expect(page.locator("#kpi-group-others")).to_have_text("Other KPIs")
    screenshot(page, "1-pinned-first")

    # Without JavaScript the button posts the form and comes back to the dashboard.
    plain = new_page(java_script_enabled=False)
    log_in(plain, "alice")
    plain.goto(f"{live_server.url}/projects/{project_a.pk}/status/")
    plain.get_by_role("button", name="Pin Error rate first").click()
    expect(plain.get_by_text("“Error rate” is pinned first on your dashboard.")).to_be_visible()
    pinned = plain.locator("#kpi-tiles .kpi-tile.pinned")
    expect(pinned).to_have_count(2)
    assert set(KPIPin.objects.values_list("kpi", flat=True)) == {lag.pk, errors.pk}
