"""The programme status page and the project dashboard: true RAG with reasons, filters,
live refresh that swaps only what changed, and a constant number of queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gates.models import Decision, GateState
from metrics import services as metric_services
from metrics.models import KPIStatus
from projects.models import Project
from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    PhaseFactory,
    ProjectFactory,
    RiskFactory,
)


def on_track(project):
    project.forecast_end = project.baseline_end
    project.save()
    return project


def populate(project, *, n: int):
    """A project with phases, items, KPIs with measurements, risks and gates."""
    phase = PhaseFactory(project=project)
    for index in range(3):
        done = index == 0
        ChecklistItemFactory(phase=phase, done=done, done_at=timezone.now() if done else None)
    now = timezone.now()
    for index in range(2):
        kpi = KPIFactory(project=project, critical=index == 0, status=KPIStatus.ON_TARGET)
        for minutes in range(0, 60 * 24 * 2, 90):
            MeasurementFactory(kpi=kpi, at=now - timedelta(minutes=minutes), value=100 + n)
    RiskFactory(project=project, likelihood=4, impact=4)
    RiskFactory(project=project, likelihood=1, impact=2)
    gate = GateFactory(project=project, order=1, state=GateState.OPEN)
    GateApproverFactory(gate=gate)
    GateFactory(project=project, order=2)


def programme_page_queries(client, user, programme) -> int:
    client.force_login(user)
    url = reverse("programme-detail", args=[programme.slug])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_programme_page_queries_do_not_grow_with_projects(client, erin, programme, project_a):
    for n in range(4):
        populate(ProjectFactory(programme=programme), n=n)
    populate(project_a, n=9)
    five, response = programme_page_queries(client, erin, programme)
    assert response.content.decode().count('class="status-row ') == 5
    for n in range(45):
        populate(ProjectFactory(programme=programme), n=n)
    fifty, response = programme_page_queries(client, erin, programme)
    assert response.content.decode().count('class="status-row ') == 50
    assert fifty == five, (five, fifty)
    assert fifty <= 16, fifty


def test_programme_page_shows_each_rag_with_its_reasons(client, erin, programme, project_a):
    on_track(project_a)  # green
    late = ProjectFactory(programme=programme, code="LATE", name="Late one")
    late.forecast_end = late.baseline_end + timedelta(days=30)
    late.save()
    breached = on_track(ProjectFactory(programme=programme, code="KPI", name="Breaching"))
    KPIFactory(project=breached, name="p95 write latency", critical=True, status="breached")
    KPIFactory(project=breached, name="Cache hit ratio", status="warning")
    client.force_login(erin)
    page = client.get(reverse("programme-detail", args=[programme.slug])).content.decode()

    row = _row(page, late)
    assert "Off track" in row and "Schedule 4 weeks behind (30 days)" in row
    row = _row(page, breached)
    assert "Off track" in row and "Critical KPI breached: p95 write latency" in row
    assert "1 breached" in row and "1 at risk" in row
    assert "On track" in _row(page, project_a)
    assert "All status rules pass." in _row(page, project_a)


def _row(page: str, project) -> str:
    start = page.index(f'id="project-row-{project.pk}"')
    return page[start : page.index("</article>", start)]


def test_filter_and_sort_by_rag(client, erin, programme, project_a):
    on_track(project_a)
    late = ProjectFactory(programme=programme, code="Z-LATE")
    client.force_login(erin)
    url = reverse("programme-detail", args=[programme.slug])

    red_only = client.get(url, {"rag": "red"}).content.decode()
    assert f"project-row-{late.pk}" in red_only
    assert f"project-row-{project_a.pk}" not in red_only

    worst_first = client.get(url, {"sort": "rag"}).content.decode()
    assert worst_first.index(f"project-row-{late.pk}") < worst_first.index(
        f"project-row-{project_a.pk}"
    )
    by_code = client.get(url, {"sort": "code"}).content.decode()
    assert by_code.index(f"project-row-{project_a.pk}") < by_code.index(f"project-row-{late.pk}")

    board = client.get(url, {"rag": "green", "sort": "bogus"}, headers={"HX-Request": "true"})
    assert board.status_code == 200
    body = board.content.decode()
    assert body.lstrip().startswith('<div id="status-board"')
    assert "<html" not in body
    assert f"project-row-{project_a.pk}" in body and f"project-row-{late.pk}" not in body


def test_programme_page_shows_gate_rollback_and_risks(client, erin, programme, project_a):
    on_track(project_a)
    RiskFactory(project=project_a, key="R7", likelihood=5, impact=4)
    GateFactory(
        project=project_a,
        order=1,
        name="Plan sign-off",
        state=GateState.DECIDED,
        decision=Decision.GO,
        decided_at=timezone.now() - timedelta(days=3),
    )
    nxt = GateFactory(
        project=project_a,
        order=2,
        name="Rollout 25%",
        kind="rollout_stage",
        rollout_percent=25,
        state=GateState.OPEN,
    )
    nxt.rollback_recommended_at = timezone.now()
    nxt.rollback_reason = "API error rate 2.4 > 1"
    nxt.save()
    client.force_login(erin)
    page = client.get(reverse("programme-detail", args=[programme.slug])).content.decode()
    row = _row(page, project_a)
    assert "Rollout 25%" in row and "Open for sign-off" in row
    assert "Rollback recommended: Rollout 25%" in row
    assert "Rollback recommended at Rollout 25%: API error rate 2.4 &gt; 1" in row
    assert "R7" in row  # critical risk listed
    assert 'data-plotly-figure="programme-heatmap-figure"' in page


def test_outsider_sees_only_their_projects_and_no_foreign_programme(
    client, oscar, programme, project_a
):
    client.force_login(oscar)
    assert client.get(reverse("programme-detail", args=[programme.slug])).status_code == 404
    assert client.get(reverse("programme-live", args=[programme.slug])).status_code == 404
    assert client.get(reverse("project-status", args=[project_a.pk])).status_code == 404
    assert client.get(reverse("project-status-live", args=[project_a.pk])).status_code == 404


def test_anonymous_is_sent_to_log_in(client, programme):
    response = client.get(reverse("programme-detail", args=[programme.slug]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def _fingerprints(page: str) -> str:
    """What waymark.js sends: id:fingerprint of every live fragment on the page."""
    held = []
    for tag in re.findall(r"<[^>]*data-live-fp=[^>]*>", page):
        element_id = re.search(r'\bid="([^"]+)"', tag).group(1)
        digest = re.search(r'data-live-fp="([^"]+)"', tag).group(1)
        held.append(f"{element_id}:{digest}")
    return ",".join(held)


def test_live_poll_answers_204_when_nothing_changed_and_only_the_changed_row(
    client, erin, programme, project_a
):
    on_track(project_a)
    other = on_track(ProjectFactory(programme=programme, code="B2"))
    kpi = KPIFactory(project=other, name="Error rate", critical=True, status="on_target")
    client.force_login(erin)
    url = reverse("programme-detail", args=[programme.slug])
    page = client.get(url, {"sort": "code"}).content.decode()
    held = _fingerprints(page)
    assert f"project-row-{project_a.pk}:" in held and "project-rows:" in held
    live = reverse("programme-live", args=[programme.slug]) + "?sort=code"
    headers = {"HX-Request": "true", "X-Live-Fingerprints": held}

    assert client.get(live, headers=headers).status_code == 204

    kpi.status = KPIStatus.BREACHED
    kpi.save()
    response = client.get(live, headers=headers)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="project-row-{other.pk}"' in body
    assert f'id="project-row-{project_a.pk}"' not in body  # unchanged: not sent
    assert 'hx-swap-oob="true"' in body
    assert 'id="status-summary"' in body  # the counts changed too
    assert 'id="programme-heatmap"' not in body


def test_live_poll_swaps_the_whole_list_when_rows_come_or_go(client, erin, programme, project_a):
    on_track(project_a)
    client.force_login(erin)
    page = client.get(reverse("programme-detail", args=[programme.slug])).content.decode()
    held = _fingerprints(page)
    newcomer = ProjectFactory(programme=programme, code="NEW")
    response = client.get(
        reverse("programme-live", args=[programme.slug]),
        headers={"HX-Request": "true", "X-Live-Fingerprints": held},
    )
    body = response.content.decode()
    assert '<div id="project-rows"' in body
    assert f'id="project-row-{newcomer.pk}"' in body
    assert body.count("hx-swap-oob") == 2  # the list and the summary, not each row


def test_live_poll_without_fingerprints_sends_everything(client, erin, programme, project_a):
    client.force_login(erin)
    response = client.get(reverse("programme-live", args=[programme.slug]))
    assert response.status_code == 200
    assert 'id="status-summary"' in response.content.decode()


def test_poll_interval_comes_from_settings(client, erin, programme, settings):
    settings.STATUS_REFRESH_SECONDS = 45
    client.force_login(erin)
    page = client.get(reverse("programme-detail", args=[programme.slug])).content.decode()
    assert 'hx-trigger="every 45s, liveRefresh"' in page


def test_project_dashboard_shows_every_part(client, alice, project_a):
    on_track(project_a)
    populate(project_a, n=1)
    client.force_login(alice)
    ChecklistItemFactory(phase=project_a.phases.first(), title="Tick me")
    response = client.get(reverse("project-status", args=[project_a.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for part in (
        "project-rating",
        "project-timeline",
        "gate-pipeline",
        "kpi-tiles",
        "project-heatmap",
        "recent-activity",
    ):
        assert f'id="{part}"' in page, part
    assert "Gate pipeline" in page and "Open for sign-off" in page
    assert "0/1 signed" in page
    assert "Tick me" in page  # the recent activity lists the item just added


def test_kpi_tiles_without_values_are_one_line_and_a_lone_value_draws_no_dot(
    client, alice, project_a
):
    """Tiles of KPIs without data were tall empty "No data" boxes; one value drew a
    sparkline of a single dot."""
    silent = KPIFactory(project=project_a, name="Cutover rehearsals")
    single = KPIFactory(project=project_a, name="Error rate", status="on_target")
    MeasurementFactory(kpi=single, at=timezone.now() - timedelta(minutes=5), value=0.2)
    steady = KPIFactory(project=project_a, name="p95 latency", status="on_target")
    for hours in (30, 20, 10):
        MeasurementFactory(kpi=steady, at=timezone.now() - timedelta(hours=hours), value=300)
    client.force_login(alice)
    page = client.get(reverse("project-status", args=[project_a.pk])).content.decode()

    def tile(kpi):
        return re.search(rf'<div [^>]*id="kpi-tile-{kpi.pk}".*?</a>', page, re.S)[0]

    assert "no-data" in tile(silent) and "kpi-tile-value" not in tile(silent)
    assert "sparkline" not in tile(silent) and "No data" in tile(silent)
    assert "no-data" not in tile(single) and "sparkline" not in tile(single)
    assert 'class="sparkline"' in tile(steady)


def test_project_dashboard_queries_do_not_grow_with_kpis_risks_gates_or_pins(
    client, alice, bob, project_a, django_assert_max_num_queries
):
    client.force_login(alice)
    populate(project_a, n=1)
    url = reverse("project-status", args=[project_a.pk])
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for n in range(5):
        populate(project_a, n=n)
    kpis = list(project_a.kpis.order_by("pk"))
    for kpi in kpis[3:8]:
        metric_services.kpi_pin_set(kpi=kpi, user=alice, pinned=True)
    metric_services.kpi_pin_set(kpi=kpis[0], user=bob, pinned=True)
    with django_assert_max_num_queries(len(small)):
        page = client.get(url).content.decode()
    pinned = page.split('id="kpi-group-pinned"', 1)[1].split('id="kpi-group-others"', 1)[0]
    assert sorted(map(int, re.findall(r'\bid="kpi-tile-(\d+)"', pinned))) == [
        kpi.pk for kpi in kpis[3:8]
    ]


def test_project_dashboard_live_poll(client, alice, project_a):
    on_track(project_a)
    client.force_login(alice)
    page = client.get(reverse("project-status", args=[project_a.pk])).content.decode()
    live = reverse("project-status-live", args=[project_a.pk])
    headers = {"HX-Request": "true", "X-Live-Fingerprints": _fingerprints(page)}
    assert client.get(live, headers=headers).status_code == 204
    RiskFactory(project=project_a, key="R9", likelihood=5, impact=5)
    body = client.get(live, headers=headers).content.decode()
    assert 'id="project-rating"' in body and "R9" in body
    assert 'id="project-heatmap"' in body
    assert 'id="gate-pipeline"' not in body


def test_status_help_lists_the_rules_with_their_thresholds(client, erin, settings):
    settings.RAG_RULES = {**settings.RAG_RULES, "schedule_red_days": 21}
    client.force_login(erin)
    page = client.get(reverse("status-help")).content.decode()
    assert "3 weeks (21 days) or more past the baseline end" in page
    assert "The latest gate decision is NO-GO." in page


@pytest.mark.parametrize("header", ["garbage", "project-rows", ":::,a:b:c", ""])
def test_malformed_fingerprint_header_is_ignored(client, erin, programme, header):
    client.force_login(erin)
    response = client.get(
        reverse("programme-live", args=[programme.slug]),
        headers={"X-Live-Fingerprints": header},
    )
    assert response.status_code == 200


def test_home_page_rates_projects_by_the_same_rules(client, erin, programme, project_a):
    on_track(project_a)
    KPIFactory(project=project_a, name="p95 write latency", critical=True, status="breached")
    client.force_login(erin)
    page = client.get(reverse("home")).content.decode()
    assert "Off track" in page
    assert "Critical KPI breached: p95 write latency." in page


def test_a_rows_kept_fragment_is_rendered_anew_when_what_it_shows_changes(
    client, erin, programme, project_a
):
    """Rows are kept rendered under a digest of their facts: the same facts give the same
    page; a renamed project, a gate opened or a KPI breached show at once."""
    on_track(project_a)
    gate = GateFactory(project=project_a, order=1, name="Cutover go/no-go")
    kpi = KPIFactory(project=project_a, name="Error rate", critical=True, status="on_target")
    client.force_login(erin)
    url = reverse("programme-detail", args=[programme.slug])

    def row():
        page = client.get(url).content.decode()
        return re.search(rf'<article[^>]+id="project-row-{project_a.pk}".*?</article>', page, re.S)[
            0
        ]

    first = row()
    assert row() == first
    project_a.name = "Ledger on PostgreSQL"
    project_a.save()
    renamed = row()
    assert "Ledger on PostgreSQL" in renamed and renamed != first
    assert "state-draft" in renamed
    gate.state = GateState.OPEN
    gate.save()
    assert "state-open" in row()
    kpi.status = KPIStatus.BREACHED
    kpi.save()
    assert "Critical KPI breached: Error rate" in row()


def test_a_rows_fingerprint_changes_with_each_fact_it_shows(erin, programme, project_a):
    from dataclasses import replace

    from dashboards import selectors

    GateFactory(project=project_a, order=1)
    RiskFactory(project=project_a, likelihood=5, impact=5)
    (row,) = selectors.project_status_rows(
        projects=Project.objects.filter(pk=project_a.pk), today=timezone.localdate()
    )
    changed = [
        replace(row, kpis_breached=row.kpis_breached + 1),
        replace(row, critical_risks=[]),
        replace(row, rating=replace(row.rating, reasons=[])),
        replace(row, variance=replace(row.variance, percent_complete=99.0)),
        replace(row, rollback_gates=[row.next_gate]),
    ]
    assert len({row.fingerprint, *(other.fingerprint for other in changed)}) == 6
    before = row.fingerprint
    row.project.code = "NEW"
    assert row.fingerprint != before
