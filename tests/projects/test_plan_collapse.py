"""Phases of the plan page open or collapsed: a short plan opens whole, a long one at its
current phases, and what a person opened or collapsed stays so for them."""

import re

import pytest
from django.urls import reverse

from projects.models import PhaseView
from projects.selectors import LONG_PLAN_ITEMS
from tests.factories import ChecklistItemFactory, PhaseFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def plan(project, statuses, items_each):
    phases = []
    for order, status in enumerate(statuses, start=1):
        phase = PhaseFactory(project=project, order=order, name=f"Stage {order}", status=status)
        ChecklistItemFactory.create_batch(items_each, phase=phase)
        phases.append(phase)
    return phases


def open_phases(client, project) -> dict[int, bool]:
    """{phase id: drawn open} as the plan page draws each phase's <details>."""
    page = client.get(project.get_absolute_url())
    assert page.status_code == 200
    drawn = re.findall(
        r'<details class="phase-body" id="phase-body-(\d+)"( open)?', page.content.decode()
    )
    return {int(pk): bool(is_open) for pk, is_open in drawn}


def test_a_short_plan_opens_with_every_phase_open(client, alice, project_a):
    phases = plan(project_a, ["done", "in_progress", "not_started"], items_each=3)
    client.force_login(alice)
    assert open_phases(client, project_a) == {phase.pk: True for phase in phases}


def test_a_long_plan_opens_at_its_current_phase_only(client, alice, project_a):
    statuses = ["done", "in_progress", "not_started", "not_started", "not_started"]
    phases = plan(project_a, statuses, items_each=LONG_PLAN_ITEMS // 5 + 1)
    client.force_login(alice)
    assert open_phases(client, project_a) == {
        phases[0].pk: False,
        phases[1].pk: True,
        phases[2].pk: False,
        phases[3].pk: False,
        phases[4].pk: False,
    }


def test_a_long_plan_not_yet_under_way_opens_at_its_first_unfinished_phase(
    client, alice, project_a
):
    statuses = ["done", "skipped", "not_started", "not_started"]
    phases = plan(project_a, statuses, items_each=LONG_PLAN_ITEMS // 4 + 1)
    client.force_login(alice)
    drawn = open_phases(client, project_a)
    assert [drawn[phase.pk] for phase in phases] == [False, False, True, False]


def test_what_a_person_opens_or_collapses_wins_and_is_theirs_alone(client, alice, bob, project_a):
    statuses = ["done", "in_progress", "not_started"]
    done, current, later = plan(project_a, statuses, items_each=LONG_PLAN_ITEMS // 3 + 1)
    client.force_login(alice)
    for phase, expanded in ((current, "0"), (later, "1")):
        answer = client.post(reverse("phase-view", args=[phase.pk]), {"expanded": expanded}, **HTMX)
        assert answer.status_code == 204
    assert open_phases(client, project_a) == {done.pk: False, current.pk: False, later.pk: True}
    client.force_login(bob)
    assert open_phases(client, project_a) == {done.pk: False, current.pk: True, later.pk: False}


def test_a_choice_changed_again_is_remembered_as_the_latest(client, alice, project_a):
    (phase,) = plan(project_a, ["in_progress"], items_each=2)
    client.force_login(alice)
    url = reverse("phase-view", args=[phase.pk])
    client.post(url, {"expanded": "0"}, **HTMX)
    assert open_phases(client, project_a) == {phase.pk: False}
    client.post(url, {"expanded": "1"}, **HTMX)
    assert open_phases(client, project_a) == {phase.pk: True}
    assert PhaseView.objects.filter(phase=phase).count() == 1


def test_without_javascript_remembering_returns_to_the_phase(client, alice, project_a):
    (phase,) = plan(project_a, ["in_progress"], items_each=1)
    client.force_login(alice)
    answer = client.post(reverse("phase-view", args=[phase.pk]), {"expanded": "0"})
    assert answer.status_code == 302
    assert answer.url == f"{project_a.get_absolute_url()}#phase-row-{phase.pk}"
    assert PhaseView.objects.get(phase=phase, user=alice).expanded is False


def test_remembering_needs_to_be_told_open_or_collapsed(client, alice, project_a):
    (phase,) = plan(project_a, ["in_progress"], items_each=1)
    client.force_login(alice)
    for data in ({}, {"expanded": "yes"}):
        answer = client.post(reverse("phase-view", args=[phase.pk]), data, **HTMX)
        assert answer.status_code == 400
        assert "open (1) or collapsed (0)" in answer.content.decode()
    assert not PhaseView.objects.exists()


def test_a_read_only_member_may_collapse_a_phase_and_an_outsider_may_not(
    client, victor, oscar, project_a
):
    (phase,) = plan(project_a, ["in_progress"], items_each=1)
    client.force_login(victor)
    url = reverse("phase-view", args=[phase.pk])
    assert client.post(url, {"expanded": "0"}, **HTMX).status_code == 204
    assert open_phases(client, project_a) == {phase.pk: False}
    client.force_login(oscar)
    assert client.post(url, {"expanded": "1"}, **HTMX).status_code == 404
    assert list(PhaseView.objects.values_list("user__username", "expanded")) == [("victor", False)]


def test_a_collapsed_phase_still_reads_at_a_glance(client, alice, project_a):
    phase = PhaseFactory(
        project=project_a, order=1, name="Foundation", timing="Months 1-2", status="in_progress"
    )
    ChecklistItemFactory.create_batch(3, phase=phase)
    ChecklistItemFactory(phase=phase, done=True, done_at="2026-01-10T10:00:00Z")
    PhaseView.objects.create(user=alice, phase=phase, expanded=False)
    client.force_login(alice)
    page = client.get(project_a.get_absolute_url()).content.decode()
    summary = re.search(
        rf'id="phase-body-{phase.pk}"[^>]*>\s*<summary.*?</summary>', page, re.DOTALL
    ).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", summary))
    for words in ("Phase 1 (Months 1-2): Foundation", "In progress", "1 of 4 done"):
        assert words in text, words
    assert "5 Jan 2026 – 27 Feb 2026" in text
