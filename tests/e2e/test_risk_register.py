"""A project manager keeps the risk register: adds a risk, reads the heatmap, is told of an
escalation."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from risks import services
from risks.models import Risk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def register(project_a, alice):
    project_a.manager = alice
    project_a.save()
    long_ago = timezone.now() - timedelta(hours=30)
    for title, likelihood, impact in [
        ("Data loss during bulk migration", 3, 4),
        ("PostgreSQL queries slower than expected", 4, 4),
        ("Team burnout", 3, 3),
    ]:
        services.risk_create(
            project=project_a,
            by=alice,
            title=title,
            likelihood=likelihood,
            impact=impact,
            assessed_at=long_ago,
        )
    return project_a


def click_heatmap_cell(page, likelihood: int, impact: int) -> None:
    """Click the centre of one cell of the Plotly heatmap, as a person would."""
    chart = page.locator("#heatmap-chart")
    # Drawn and done drawing: Plotly may redraw once more for its margins, moving the cells.
    expect(chart.locator(".heatmaplayer")).to_be_visible()
    expect(chart).not_to_have_attribute("aria-busy", "true")
    x, y = page.evaluate(
        """([likelihood, impact]) => {
            const chart = document.getElementById("heatmap-chart");
            const layout = chart._fullLayout;
            const box = chart.getBoundingClientRect();
            return [
                box.left + layout.xaxis._offset + layout.xaxis.l2p(impact - 1),
                box.top + layout.yaxis._offset + layout.yaxis.l2p(likelihood - 1),
            ];
        }""",
        [likelihood, impact],
    )
    page.mouse.click(x, y)


def test_manager_adds_a_risk_filters_by_heatmap_cell_and_sees_the_escalation(
    page, live_server, log_in, register, screenshot
):
    log_in(page, "alice")
    page.goto(f"{live_server.url}/projects/{register.pk}/risks/")
    expect(page.locator("#register-table")).to_contain_text("3 risks")

    page.get_by_role("link", name="Add risk").click()
    form = page.locator("#risk-new-form")
    form.get_by_label("Title").fill("Database connection pool exhaustion")
    form.get_by_label("Likelihood").select_option("3")
    form.get_by_label("Impact").select_option("4")
    form.get_by_label("Owner").fill("Backend Lead")
    form.get_by_role("button", name="Add risk").click()
    expect(page.locator("#register-rows")).to_contain_text("R4 Database connection pool exhaustion")
    expect(page.locator("#risk-new-form")).to_have_count(0)
    expect(page.locator("#register-heading")).to_contain_text("4 risks")
    screenshot(page, "1-risk-added")

    # The heatmap refreshed with the new risk: two risks now sit at likelihood 3 × impact 4.
    expect(page.locator("#risk-heatmap")).to_contain_text("4 unresolved")
    click_heatmap_cell(page, likelihood=3, impact=4)
    table = page.locator("#register-table")
    expect(table).to_contain_text("Showing the cell likelihood 3 × impact 4")
    expect(table).to_contain_text("Database connection pool exhaustion")
    expect(table).to_contain_text("Data loss during bulk migration")
    expect(table).not_to_contain_text("Team burnout")
    screenshot(page, "2-heatmap-cell")

    services.risk_escalate_overdue()  # the daily run of the escalation task
    page.goto(f"{live_server.url}/projects/{register.pk}/risks/")
    escalated = Risk.objects.get(project=register, title="PostgreSQL queries slower than expected")
    expect(page.locator(f"#risk-row-{escalated.pk}")).to_contain_text("Escalated")
    expect(page.locator("#nav-notifications")).to_contain_text("2")
    screenshot(page, "3-escalated")
    page.locator("#nav-notifications").click()
    expect(page.locator(".notifications")).to_contain_text("escalated: High risk unresolved")
    screenshot(page, "4-notifications")
