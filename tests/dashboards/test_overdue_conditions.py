"""Conditions of a CONDITIONAL GO past their due date and not met, on the status pages: a count
per project on the programme board, the project's dashboard and its status in the API, a
reason for amber, and no query more however many there are."""

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
from tests.factories import GateConditionFactory, GateFactory, ProjectFactory, SignOffFactory

pytestmark = pytest.mark.django_db


def decided_with_conditions(project, *, overdue: int, met_overdue: int = 0, not_due: int = 0):
    """A gate of `project` decided CONDITIONAL GO, with conditions overdue (not met), overdue
    but met, and not yet due."""
    gate = GateFactory(
        project=project,
        name="Cutover go/no-go",
        order=1,
        state=GateState.DECIDED,
        decision=Decision.CONDITIONAL_GO,
        decided_at=timezone.now() - timedelta(days=20),
    )
    signoff = SignOffFactory(
        gate=gate, decision="approve_with_conditions", conditions="Rehearse the rollback"
    )
    today = timezone.localdate()
    for _ in range(overdue):
        GateConditionFactory(signoff=signoff, due_date=today - timedelta(days=2))
    for _ in range(met_overdue):
        GateConditionFactory(
            signoff=signoff,
            due_date=today - timedelta(days=2),
            met_at=timezone.now(),
            met_by=signoff.signer,
        )
    for _ in range(not_due):
        GateConditionFactory(signoff=signoff, due_date=today)
    return gate


def _row(page: str, project) -> str:
    start = page.index(f'id="project-row-{project.pk}"')
    return page[start : page.index("</article>", start)]


def test_the_programme_board_counts_each_projects_overdue_conditions(
    client, erin, programme, project_a
):
    on_track(project_a)
    decided_with_conditions(project_a, overdue=2, met_overdue=1, not_due=1)
    calm = on_track(ProjectFactory(programme=programme, code="CALM"))
    decided_with_conditions(calm, overdue=0, met_overdue=1, not_due=2)
    client.force_login(erin)
    page = client.get(reverse("programme-detail", args=[programme.slug])).content.decode()
    row = _row(page, project_a)
    assert "2 overdue conditions" in row
    assert "2 conditions of Cutover go/no-go overdue" in row
    assert "overdue condition" not in _row(page, calm)


def test_the_programme_board_takes_the_same_queries_however_many_conditions_are_overdue(
    client, erin, programme, project_a, django_assert_max_num_queries
):
    populate(project_a, n=1)
    decided_with_conditions(project_a, overdue=1)
    client.force_login(erin)
    url = reverse("programme-detail", args=[programme.slug])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(8):
        project = ProjectFactory(programme=programme)
        populate(project, n=n)
        decided_with_conditions(project, overdue=3, met_overdue=2, not_due=1)
    with django_assert_max_num_queries(len(few)):
        page = client.get(url).content.decode()
    assert page.count("3 overdue conditions") == 8
    assert len(few) <= 16


def test_the_project_dashboard_and_its_api_count_overdue_conditions(
    client, alice, project_a, django_assert_max_num_queries
):
    populate(project_a, n=1)
    client.force_login(alice)
    url = reverse("project-status", args=[project_a.pk])
    with CaptureQueriesContext(connection) as none_overdue:
        page = client.get(url).content.decode()
    assert '<dd id="conditions-overdue">0</dd>' in page

    decided_with_conditions(project_a, overdue=3, met_overdue=1, not_due=1)
    with django_assert_max_num_queries(len(none_overdue)):
        page = client.get(url).content.decode()
    assert '<dd id="conditions-overdue">3</dd>' in page
    assert "3 overdue conditions" in page  # on the gate in the pipeline
    body = client.get(f"/api/v1/projects/{project_a.pk}/status/").json()
    assert body["conditions_overdue"] == 3
    assert {"rule": "condition_overdue", "rag": "amber"}.items() <= next(
        reason for reason in body["reasons"] if reason["rule"] == "condition_overdue"
    ).items()


def test_an_overdue_condition_turns_a_project_amber():
    decided = replace(gate(decision="go"), conditions_overdue=1)
    rating = project_status(facts(gates=[decided]), today=TODAY)
    assert rating.rag == "amber"
    assert [reason.text for reason in rating.reasons] == ["1 condition of Cutover overdue"]
