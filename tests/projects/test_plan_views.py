"""Plan editing pages: each htmx view as a whole page and as a fragment, validation,
conflicts, permissions and query budgets."""

import json
from datetime import UTC, date, datetime
from unittest.mock import patch

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects import services
from projects.models import ChecklistItem, Phase, PhaseView, Project
from tests.factories import ChecklistItemFactory, PhaseFactory, ProjectFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def phase(project_a):
    return PhaseFactory(project=project_a, order=1, name="Foundation", status="in_progress")


@pytest.fixture
def item(phase):
    return ChecklistItemFactory(phase=phase, title="Design normalized schema", section="Week 1-2")


def triggered(response) -> set[str]:
    events = set()
    for header in ("HX-Trigger", "HX-Trigger-After-Settle"):
        if header in response.headers:
            events |= set(json.loads(response.headers[header]))
    return events


def phase_data(phase, **overrides):
    data = {
        "name": phase.name,
        "timing": phase.timing,
        "status": phase.status,
        "goal": phase.goal,
        "baseline_start": phase.baseline_start or "",
        "baseline_end": phase.baseline_end or "",
        "forecast_start": "",
        "forecast_end": "",
        "actual_end": "",
        "resource_needs": "",
        "success_criteria": "",
        "version": phase.version,
    }
    return {**data, **overrides}


@pytest.mark.parametrize(
    "url_name", ["project-overview-edit", "phase-create", "phase-edit", "item-create", "item-edit"]
)
def test_edit_forms_come_as_a_page_or_as_a_fragment(url_name, client, alice, item):
    target = {
        "project-overview-edit": item.phase.project.pk,
        "phase-create": item.phase.project.pk,
        "phase-edit": item.phase.pk,
        "item-create": item.phase.pk,
        "item-edit": item.pk,
    }[url_name]
    client.force_login(alice)
    url = reverse(url_name, args=[target])
    page = client.get(url)
    fragment = client.get(url, **HTMX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.content.decode() and "<form" in page.content.decode()
    assert "<html" not in fragment.content.decode() and "<form" in fragment.content.decode()


def test_saving_a_phase_swaps_the_row_back_and_refreshes_the_variance(client, alice, phase):
    client.force_login(alice)
    response = client.post(
        reverse("phase-edit", args=[phase.pk]), phase_data(phase, name="Foundations"), **HTMX
    )
    assert response.status_code == 200
    assert f'id="phase-row-{phase.pk}"' in response.content.decode()
    assert "Foundations" in response.content.decode()
    assert {"planChanged", "focusElement"} <= triggered(response)
    phase.refresh_from_db()
    assert phase.name == "Foundations" and phase.version == 2


def test_without_javascript_a_save_returns_to_the_project_page(client, alice, phase):
    client.force_login(alice)
    response = client.post(reverse("phase-edit", args=[phase.pk]), phase_data(phase, name="Base"))
    assert response.status_code == 302
    assert response.url == f"{phase.project.get_absolute_url()}#phase-row-{phase.pk}"
    page = client.get(response.url).content.decode()
    assert "Phase “Base” saved." in page


def test_validation_errors_come_back_inside_the_form_with_422(client, alice, phase):
    client.force_login(alice)
    response = client.post(
        reverse("phase-edit", args=[phase.pk]),
        phase_data(phase, actual_end="2026-02-01", baseline_end="not a date"),
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Enter a valid date." in body and "<form" in body
    phase.refresh_from_db()
    assert phase.version == 1


def test_a_constraint_breach_is_a_message_not_a_crash(client, alice, phase):
    client.force_login(alice)
    response = client.post(
        reverse("phase-edit", args=[phase.pk]), phase_data(phase, actual_end="2026-02-01"), **HTMX
    )
    assert response.status_code == 422
    assert "Only a phase that is done has an actual end." in response.content.decode()


def test_the_second_of_two_edits_sees_the_first_and_can_reapply(client, alice, bob, phase):
    seen = phase.version
    services.phase_update(phase=phase, version=seen, by=bob, changes={"goal": "Bob's goal"})
    client.force_login(alice)
    response = client.post(
        reverse("phase-edit", args=[phase.pk]),
        phase_data(phase, goal="Alice's goal", version=seen),
        **HTMX,
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "saved this" in body and "while you were editing" in body
    assert "Bob&#x27;s goal" in body and "Alice&#x27;s goal" in body
    assert f'name="version" value="{seen + 1}"' in body
    phase.refresh_from_db()
    assert phase.goal == "Bob's goal"
    again = client.post(
        reverse("phase-edit", args=[phase.pk]),
        phase_data(phase, goal="Alice's goal", version=seen + 1),
        **HTMX,
    )
    assert again.status_code == 200
    phase.refresh_from_db()
    assert phase.goal == "Alice's goal"


def test_adding_a_phase_returns_the_list_with_it_at_the_end(client, alice, phase):
    client.force_login(alice)
    data = {"name": "Dual-write", "status": "not_started", "timing": "Month 3"}
    response = client.post(reverse("phase-create", args=[phase.project.pk]), data, **HTMX)
    assert response.status_code == 200
    assert 'id="phase-list"' in response.content.decode()
    assert list(Phase.objects.filter(project=phase.project).values_list("order", "name")) == [
        (1, "Foundation"),
        (2, "Dual-write"),
    ]


def test_a_phase_without_a_name_is_refused_with_a_message(client, alice, project_a):
    client.force_login(alice)
    response = client.post(
        reverse("phase-create", args=[project_a.pk]), {"status": "not_started"}, **HTMX
    )
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not Phase.objects.filter(project=project_a).exists()


def test_ticking_an_item_records_who_and_refreshes_the_phase(client, bob, item):
    client.force_login(bob)
    response = client.post(reverse("item-toggle", args=[item.pk]), {"done": "1"}, **HTMX)
    assert response.status_code == 200
    assert "1 of 1 done" in response.content.decode()
    assert "planChanged" in triggered(response)
    item.refresh_from_db()
    assert item.done and item.done_by == bob


def test_ticking_without_javascript_redirects_to_the_item(client, bob, item):
    client.force_login(bob)
    response = client.post(reverse("item-toggle", args=[item.pk]), {"done": "1"})
    assert response.status_code == 302 and response.url.endswith(f"#item-row-{item.pk}")


def test_editing_an_item_inline(client, bob, item):
    client.force_login(bob)
    data = {
        "title": "Design the normalized schema",
        "kind": "task",
        "section": "Week 1-2",
        "owner_title": "Backend Lead",
        "due": "",
        "version": 1,
    }
    response = client.post(reverse("item-edit", args=[item.pk]), data, **HTMX)
    assert response.status_code == 200
    assert f'id="item-row-{item.pk}"' in response.content.decode()
    item.refresh_from_db()
    assert item.title == "Design the normalized schema" and item.owner_title == "Backend Lead"


def test_adding_an_item(client, bob, phase):
    client.force_login(bob)
    data = {"title": "Provision PostgreSQL", "kind": "task", "section": "Week 3-4"}
    response = client.post(reverse("item-create", args=[phase.pk]), data, **HTMX)
    assert response.status_code == 200
    assert "Provision PostgreSQL" in response.content.decode()
    assert ChecklistItem.objects.filter(phase=phase, title="Provision PostgreSQL").exists()


def test_deleting_asks_first_without_javascript_and_can_be_undone(client, alice, item):
    client.force_login(alice)
    confirm = client.get(reverse("item-delete", args=[item.pk]))
    assert (
        confirm.status_code == 200
        and "Delete “Design normalized schema”?" in confirm.content.decode()
    )
    response = client.post(reverse("item-delete", args=[item.pk]))
    assert response.status_code == 302 and response.url.endswith("#deleted")
    page = client.get(item.phase.project.get_absolute_url()).content.decode()
    assert "Deleted (can be restored)" in page
    client.post(reverse("item-restore", args=[item.pk]))
    item.refresh_from_db()
    assert item.deleted_at is None


def test_deleting_with_htmx_leaves_an_undo_in_place(client, alice, phase):
    client.force_login(alice)
    response = client.post(reverse("phase-delete", args=[phase.pk]), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "deleted." in body and "Undo" in body
    undo = client.post(reverse("phase-restore", args=[phase.pk]), **HTMX)
    assert undo.status_code == 200 and f'id="phase-row-{phase.pk}"' in undo.content.decode()


def test_moving_a_phase(client, alice, project_a):
    first = PhaseFactory(project=project_a, order=1, name="One")
    PhaseFactory(project=project_a, order=2, name="Two")
    client.force_login(alice)
    response = client.post(reverse("phase-move", args=[first.pk]), {"direction": "down"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Two") < body.index("One")
    assert (
        client.post(reverse("phase-move", args=[first.pk]), {"direction": "sideways"}).status_code
        == 400
    )


def test_editing_the_overview(client, alice, project_a):
    client.force_login(alice)
    form = client.get(reverse("project-overview-edit", args=[project_a.pk]), **HTMX)
    data = {field.name: field.value() or "" for field in form.context["form"]}
    data.update(name="Provider API v2", budget_spent="5000")
    response = client.post(reverse("project-overview-edit", args=[project_a.pk]), data, **HTMX)
    assert response.status_code == 200, response.content.decode()[:3000]
    project_a.refresh_from_db()
    assert project_a.name == "Provider API v2" and project_a.budget_spent == 5000


@pytest.mark.parametrize("persona", ["carol", "erin", "victor"])
def test_members_who_may_not_edit_get_403_and_change_nothing(persona, client, request, item):
    client.force_login(request.getfixturevalue(persona))
    phase = item.phase
    attempts = [
        client.get(reverse("phase-edit", args=[phase.pk])),
        client.post(reverse("phase-edit", args=[phase.pk]), phase_data(phase, name="Hijacked")),
        client.post(reverse("item-toggle", args=[item.pk]), {"done": "1"}),
        client.post(reverse("phase-delete", args=[phase.pk])),
        client.post(
            reverse("phase-create", args=[phase.project.pk]), {"name": "X", "status": "not_started"}
        ),
    ]
    assert [response.status_code for response in attempts] == [403] * 5
    phase.refresh_from_db()
    item.refresh_from_db()
    assert phase.name == "Foundation" and phase.deleted_at is None and not item.done
    assert Phase.objects.filter(project=phase.project).count() == 1


def test_read_only_members_see_the_plan_without_edit_controls(client, victor, item):
    client.force_login(victor)
    page = client.get(item.phase.project.get_absolute_url()).content.decode()
    assert "Design normalized schema" in page
    assert "Edit overview" not in page and "Add phase" not in page and "item-toggle" not in page


def test_non_members_get_404_for_every_plan_url(client, oscar, item):
    client.force_login(oscar)
    urls = [
        reverse("phase-edit", args=[item.phase.pk]),
        reverse("item-toggle", args=[item.pk]),
        reverse("phase-delete", args=[item.phase.pk]),
        reverse("project-overview-edit", args=[item.phase.project.pk]),
        reverse("project-history", args=[item.phase.project.pk]),
    ]
    assert [client.post(url).status_code for url in urls] == [404, 404, 404, 404, 405]
    assert client.get(urls[-1]).status_code == 404
    item.refresh_from_db()
    assert not item.done


def test_history_tab_shows_who_changed_what(client, alice, bob, phase):
    services.phase_update(phase=phase, version=1, by=bob, changes={"name": "Foundations"})
    client.force_login(alice)
    page = client.get(reverse("project-history", args=[phase.project.pk])).content.decode()
    assert bob.get_full_name() in page
    assert "Foundation" in page and "Foundations" in page and "changed" in page


def test_history_tab_shows_a_change_to_the_project_itself(client, alice, project_a):
    services.project_update(
        project=project_a, version=project_a.version, by=alice, changes={"summary": "Cut over."}
    )
    client.force_login(alice)
    response = client.get(reverse("project-history", args=[project_a.pk]))
    assert response.status_code == 200
    assert "Cut over." in response.content.decode()


def test_variance_and_timeline_blocks_refresh_alone(client, victor, phase):
    client.force_login(victor)
    for name in ("project-variance", "project-timeline"):
        response = client.get(reverse(name, args=[phase.project.pk]), **HTMX)
        assert response.status_code == 200 and "<html" not in response.content.decode()


def test_project_page_queries_do_not_grow_with_phases_items_or_deletions(client, alice, project_a):
    def grow(count, start):
        for order in range(start, start + count):
            phase = PhaseFactory(project=project_a, order=order)
            items = ChecklistItemFactory.create_batch(4, phase=phase, done=False)
            services.checklist_item_set_done(item=items[0], done=True, by=alice)
            services.checklist_item_delete(item=items[1], by=alice)

    client.force_login(alice)
    grow(1, 1)
    with CaptureQueriesContext(connection) as small:
        client.get(project_a.get_absolute_url())
    grow(5, 2)
    services.phase_delete(phase=Phase.objects.get(project=project_a, order=3), by=alice)
    with CaptureQueriesContext(connection) as large:
        response = client.get(project_a.get_absolute_url())
    assert response.status_code == 200
    assert len(large) == len(small), [query["sql"] for query in large]


def test_a_long_plan_drawn_collapsed_takes_as_many_queries_as_a_short_one(
    client, alice, project_a, django_assert_max_num_queries
):
    def grow(count, start, items):
        for order in range(start, start + count):
            phase = PhaseFactory(project=project_a, order=order, status="not_started")
            ChecklistItemFactory.create_batch(items, phase=phase)

    client.force_login(alice)
    grow(1, 1, items=2)
    with CaptureQueriesContext(connection) as short:
        client.get(project_a.get_absolute_url())
    grow(5, 2, items=20)
    # Some phases as alice left them, some as the plan's length decides.
    kept = zip(Phase.objects.filter(project=project_a)[2:5], [True, False, True], strict=True)
    for phase, expanded in kept:
        PhaseView.objects.create(user=alice, phase=phase, expanded=expanded)
    with django_assert_max_num_queries(len(short)):
        response = client.get(project_a.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('class="phase-body" id=') == 6


def test_programme_page_queries_do_not_grow_with_projects(client, alice, programme):
    client.force_login(alice)
    url = reverse("programme-detail", args=[programme.slug])
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _ in range(6):
        project = ProjectFactory(programme=programme)
        project.memberships.create(user=alice, role="manager")
        ChecklistItemFactory.create_batch(3, phase=PhaseFactory(project=project, order=1))
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert response.status_code == 200
    assert len(large) == len(small)
    assert (
        response.content.decode().count('id="project-row-')
        == Project.objects.filter(programme=programme).count()
    )


def test_history_shows_times_and_dates_in_words_in_the_readers_time_zone(
    client, alice, bob, item, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    done_at = datetime(2026, 12, 3, 7, 12, 31, 893546, tzinfo=UTC)
    with patch("django.utils.timezone.now", return_value=done_at):
        services.checklist_item_set_done(item=item, done=True, by=bob)
    services.checklist_item_update(
        item=ChecklistItem.objects.get(pk=item.pk),
        version=ChecklistItem.objects.get(pk=item.pk).version,
        by=bob,
        changes={"due": date(2027, 1, 15)},
    )
    client.force_login(alice)
    page = client.get(reverse("project-history", args=[item.phase.project.pk])).content.decode()
    assert '<td class="new">3 Dec 2026, 08:12 CET</td>' in page  # when it was done
    assert '<td class="new">15 Jan 2027</td>' in page
    assert ">3 Dec 2026, 08:12 CET</time>" in page
