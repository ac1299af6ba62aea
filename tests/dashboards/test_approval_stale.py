"""Approvals gone stale on the status pages: a reason for amber until a re-approval round
decides the gate again, a badge on the programme board and the project's dashboard, a line in
the weekly report, and no query more however many there are."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboards.status import project_status
from gates.models import Decision, GateState
from tests.dashboards.test_status_pages import on_track, populate
from tests.dashboards.test_status_rules import TODAY, facts, gate
from tests.factories import GateFactory, ProjectFactory

pytestmark = pytest.mark.django_db
REASONS = "KPI breached: p95 < 500 ms (API p95 latency = 900 ms)"


def stale_gate(project, *, name="Cutover go/no-go", reapproved=False):
    decided = timezone.now() - timedelta(days=3)
    first = GateFactory(
        project=project,
        name=name,
        order=1,
        state=GateState.DECIDED,
        decision=Decision.GO,
        decided_at=decided,
        approval_stale_at=decided + timedelta(days=1),
        approval_stale_reasons=REASONS,
    )
    if reapproved:
        GateFactory(
            project=project,
            name=f"{name} (re-approval 1)",
            order=1,
            state=GateState.DECIDED,
            decision=Decision.GO,
            decided_at=timezone.now(),
            reapproval_of=first,
        )
    return first


def _row(page: str, project) -> str:
    start = page.index(f'id="project-row-{project.pk}"')
    return page[start : page.index("</article>", start)]


def test_a_stale_approval_makes_a_project_amber_until_it_is_decided_again():
    stale = replace(
        gate(decision="go"),
        approval_stale_at=timezone.now(),
        approval_stale_reasons="Risk R7 Replica lag is now critical",
    )
    rating = project_status(facts(gates=[stale]), today=TODAY)
    assert rating.rag == "amber"
    (reason,) = rating.reasons
    assert reason.rule == "approval_stale"
    assert reason.text.startswith("The approval of Cutover went stale on ")
    assert reason.text.endswith(": Risk R7 Replica lag is now critical")
    decided_again = replace(stale, reapproved=True)
    assert project_status(facts(gates=[decided_again]), today=TODAY).rag == "green"


def test_the_programme_board_shows_stale_approvals_with_the_same_queries(
    client, erin, programme, project_a, django_assert_max_num_queries
):
    populate(project_a, n=1)
    client.force_login(erin)
    url = reverse("programme-detail", args=[programme.slug])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    stale_gate(project_a)
    calm = on_track(ProjectFactory(programme=programme, code="CALM"))
    stale_gate(calm, reapproved=True)
    for n in range(6):
        project = ProjectFactory(programme=programme)
        populate(project, n=n)
        stale_gate(project)
    with django_assert_max_num_queries(len(few)):
        page = client.get(url).content.decode()
    assert "Cutover go/no-go: approval gone stale" in _row(page, project_a)
    assert "The approval of Cutover go/no-go went stale on" in _row(page, project_a)
    assert "approval gone stale" not in _row(page, calm)
    assert page.count("Cutover go/no-go: approval gone stale") == 7


def test_the_project_dashboard_and_its_api_show_a_stale_approval_with_the_same_queries(
    client, alice, project_a, django_assert_max_num_queries
):
    populate(project_a, n=1)
    client.force_login(alice)
    url = reverse("project-status", args=[project_a.pk])
    with CaptureQueriesContext(connection) as none_stale:
        client.get(url)
    first = stale_gate(project_a)
    stale_gate(project_a, name="Decommission", reapproved=True)
    with django_assert_max_num_queries(len(none_stale)):
        page = client.get(url).content.decode()
    assert f'id="approval-stale-{first.pk}"' in page
    assert page.count("Approval gone stale") == 1
    body = client.get(f"/api/v1/projects/{project_a.pk}/status/").json()
    reason = next(reason for reason in body["reasons"] if reason["rule"] == "approval_stale")
    assert reason["rag"] == "amber" and REASONS in reason["text"]
