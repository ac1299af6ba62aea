"""A manager reads the weekly report: each measured KPI's week and the risk heatmap are
pictures read out in words, that fit a phone's screen; KPIs without values are named only."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import KPIFactory, MeasurementFactory, RiskFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_weekly_report_shows_kpi_trends_and_the_heatmap_as_pictures(
    page, live_server, log_in, alice, project_a, screenshot
):
    latency = KPIFactory(project=project_a, name="p95 write latency", target_value=15)
    now = timezone.now()
    for days, value in ((6, 12), (4, 14), (2, 17), (0.1, 19)):
        MeasurementFactory(kpi=latency, at=now - timedelta(days=days), value=value)
    KPIFactory(project=project_a, name="Cutover rehearsals")
    RiskFactory(project=project_a, key="R1", title="Data loss at cutover", likelihood=4, impact=5)
    log_in(page, "alice")
    page.goto(f"{live_server.url}/projects/{project_a.pk}/report/")

    trend = page.get_by_role(
        "img", name="p95 write latency, 7 days: from 12 ms to 19 ms, target below 15 ms"
    )
    expect(trend).to_be_visible()
    heatmap = page.get_by_role("img", name="Risk heatmap of likelihood by impact, 1 unresolved")
    expect(heatmap).to_be_visible()
    expect(page.locator("svg.trend")).to_have_count(1)
    expect(page.get_by_text("No values yet: Cutover rehearsals.")).to_be_visible()
    screenshot(page, "1-report")
