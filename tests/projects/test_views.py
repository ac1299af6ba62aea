import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MetricSourceFactory,
    PhaseFactory,
    RiskFactory,
)

pytestmark = pytest.mark.django_db


def fill(project, size, first_phase=1):
    """Give `project` `size` more phases, each with `size` items and a risk, KPI and gate."""
    for order in range(first_phase, first_phase + size):
        phase = PhaseFactory(project=project, order=order)
        ChecklistItemFactory.create_batch(size, phase=phase, owner=project.manager)
        RiskFactory(project=project)
        MetricSourceFactory(kpi=KPIFactory(project=project, phase=phase))
        gate = GateFactory(project=project, phase=phase)
        GateCriterionFactory.create_batch(2, gate=gate)
        GateApproverFactory(gate=gate)


def test_pages_ask_anonymous_visitors_to_log_in(client, project_a):
    for url in (reverse("home"), project_a.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_project_page_shows_the_plan(client, victor, project_a):
    phase = PhaseFactory(project=project_a, order=1, name="Foundation", timing="Months 1-2")
    ChecklistItemFactory(phase=phase, section="Week 1-2", title="Design normalized schema")
    RiskFactory(project=project_a, key="R1", title="Data loss during bulk migration")
    KPIFactory(project=project_a, name="API p95 latency", comparator="lt", target_value=500)
    GateFactory(project=project_a, name="Cutover go/no-go")
    client.force_login(victor)
    page = client.get(project_a.get_absolute_url()).content.decode()
    for text in (
        "Foundation",
        "Months 1-2",
        "Design normalized schema",
        "Data loss during bulk migration",
        "API p95 latency",
        "below 500 ms",
        "Cutover go/no-go",
        "Read-only",
    ):
        assert text in page, text


def test_another_projects_page_is_not_found_for_a_non_member(client, oscar, project_a):
    client.force_login(oscar)
    assert client.get(project_a.get_absolute_url()).status_code == 404


def test_project_page_query_count_does_not_grow_with_the_plan(
    client, alice, project_a, django_assert_max_num_queries
):
    client.force_login(alice)
    fill(project_a, 1)
    with CaptureQueriesContext(connection) as small:
        client.get(project_a.get_absolute_url())
    fill(project_a, 6, first_phase=2)
    with django_assert_max_num_queries(len(small)):
        response = client.get(project_a.get_absolute_url())
    assert response.status_code == 200
