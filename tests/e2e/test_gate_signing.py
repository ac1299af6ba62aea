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


def test_two_approvers_sign_against_the_advice_with_a_reason_and_the_manager_sees_it(
    page, new_page, live_server, log_in, project_a, alice, carol, screenshot
):
    from tests.factories import MembershipFactory, UserFactory

    dana = UserFactory(username="dana", first_name="Dana", last_name="Okafor")
    MembershipFactory(user=dana, project=project_a, role="approver")
    gate = GateFactory(project=project_a, name="Phase 1 exit", kind="phase_exit")
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=720)
    GateCriterionFactory(
        gate=gate, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    GateApproverFactory(gate=gate, title="CTO", user=None, role="approver")
    GateApproverFactory(gate=gate, title="Head of Product", user=None, role="approver")
    services.gate_open(gate=gate, by=alice)

    log_in(page, "carol")
    page.goto(f"{live_server.url}/gates/{gate.pk}/")
    expect(page.locator("#recommendation")).to_contain_text("NO-GO")
    expect(page.locator("#override-needed")).to_contain_text("to approve, say why")
    form = page.locator("#sign-form")
    form.get_by_label("Approve", exact=True).check()
    form.get_by_label("Comment").fill("Spoke to the CDN team")
    form.get_by_label("Password").fill("correct horse battery staple")
    form.get_by_role("button", name="Sign").click()
    expect(page.locator("#sign-problem")).to_contain_text("approving against it needs your reason")
    expect(form.get_by_label("Comment")).to_have_value("Spoke to the CDN team")
    screenshot(page, "1-a-reason-is-asked-for")

    form.get_by_label("Approve", exact=True).check()
    form.get_by_label("Why approve against the recommendation?").fill(
        "The latency is the CDN's, fixed on Monday"
    )
    form.get_by_label("Password").fill("correct horse battery staple")
    form.get_by_role("button", name="Sign").click()
    expect(page.locator("#slots")).to_contain_text("not signed yet")
    expect(page.locator("#gate-state")).to_have_text("Open for sign-off")
    screenshot(page, "2-one-slot-of-two")

    second = new_page()
    log_in(second, "dana")
    second.goto(f"{live_server.url}/gates/{gate.pk}/")
    form = second.locator("#sign-form")
    form.get_by_label("Approve", exact=True).check()
    form.get_by_label("Why approve against the recommendation?").fill("Agreed with the CTO")
    form.get_by_label("Password").fill("correct horse battery staple")
    form.get_by_role("button", name="Sign").click()
    expect(second.locator("#gate-decision")).to_have_text("GO")

    manager = new_page()
    log_in(manager, "alice")
    manager.goto(f"{live_server.url}/gates/{gate.pk}/")
    expect(manager.locator("#override")).to_contain_text("Approved against the NO-GO")
    expect(manager.locator("#as-signed")).to_contain_text("API p95 latency = 720 ms")
    screenshot(manager, "3-manager-sees-the-override-and-the-evidence-as-signed")
    manager.goto(f"{live_server.url}/projects/{project_a.pk}/status/")
    expect(manager.locator("body")).to_contain_text("approved against the NO-GO recommendation")
    screenshot(manager, "4-status-page")
