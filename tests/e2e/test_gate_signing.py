"""An approver signs a gate from the inbox; the manager sees the decision."""

import pytest
from playwright.sync_api import expect

from gates import services
from tests.factories import (
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gate(project_a, alice, carol):
    gate = GateFactory(project=project_a, name="Cutover go/no-go", kind="go_no_go")
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=420)
    GateCriterionFactory(
        gate=gate, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    return gate


def test_approver_signs_from_the_inbox_and_the_manager_sees_the_decision(
    page, new_page, live_server, log_in, gate, screenshot
):
    log_in(page, "carol")
    expect(page.locator("#nav-inbox")).to_contain_text("1")
    page.locator("#nav-inbox").click()
    page.get_by_role("link", name="Cutover go/no-go").click()
    expect(page.locator("#recommendation")).to_contain_text("GO")
    screenshot(page, "1-gate-before-signing")

    form = page.locator("#sign-form")
    form.get_by_label("Approve", exact=True).check()
    form.get_by_label("Password").fill("wrong password")
    form.get_by_role("button", name="Sign").click()
    expect(page.locator("#sign-problem")).to_contain_text("The password is not correct")
    screenshot(page, "2-wrong-password")

    form.get_by_label("Approve", exact=True).check()
    form.get_by_label("Password").fill("correct horse battery staple")
    form.get_by_role("button", name="Sign").click()
    expect(page.locator("#gate-decision")).to_have_text("GO")
    expect(page.locator(".signatures")).to_contain_text("Approved: the criteria shown are met")
    screenshot(page, "3-signed-and-decided")

    manager = new_page()
    log_in(manager, "alice")
    manager.goto(f"{live_server.url}/gates/{gate.pk}/")
    expect(manager.locator("#gate-state")).to_have_text("Decided")
    expect(manager.locator("#chain-badge")).to_have_text("Verified")
    expect(manager.locator("#nav-notifications")).to_contain_text("1")
    screenshot(manager, "4-manager-sees-decision")
