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
    MembershipFactory,
    MetricSourceFactory,
    PhaseFactory,
    ProjectFactory,
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


def test_login_then_logout(client, alice):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_a_wrong_password_gets_a_message_and_no_session(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_home_lists_the_programmes_and_projects_the_user_may_see(client, victor, project_b):
    ProjectFactory(programme=project_b.programme, code="C", name="Hidden sibling")
    client.force_login(victor)
    page = client.get(reverse("home")).content.decode()
    assert "Platform Migrations" in page and "Provider API" in page
    assert "Billing ledger" not in page and "Hidden sibling" not in page
    assert "viewer" in page  # the user's role on the project


def test_home_for_a_user_without_memberships_says_what_to_do(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("newcomer"))
    assert "Ask a project manager to add you" in client.get(reverse("home")).content.decode()


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
        "&lt; 500 ms",
        "Cutover go/no-go",
        "Read-only",
    ):
        assert text in page, text


def test_another_projects_page_is_not_found_for_a_non_member(client, oscar, project_a):
    client.force_login(oscar)
    assert client.get(project_a.get_absolute_url()).status_code == 404


def test_home_query_count_does_not_grow_with_the_portfolio(client, alice, programme):
    client.force_login(alice)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("home"))
    for _ in range(8):
        project = ProjectFactory(programme=programme)
        MembershipFactory(user=alice, project=project, role="manager")
        PhaseFactory.create_batch(3, project=project)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("home"))
    assert response.content.decode().count("<tr>") == 10  # header + 9 projects
    assert len(large) == len(small)


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


def test_health_reports_database_and_worker(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["worker"] in {"ok", "stale", "never seen"}
