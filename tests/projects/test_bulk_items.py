"""Changing several checklist items at once: ticked, unticked, given an owner or moved to
another phase in one request, all of them or none, by those who may edit the plan."""

import json

import pytest
from django.urls import reverse

from projects import selectors, services
from projects.models import ChecklistItem
from tests.factories import ChecklistItemFactory, PhaseFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def phases(project_a):
    first = PhaseFactory(project=project_a, order=1, name="Foundation", status="in_progress")
    second = PhaseFactory(project=project_a, order=2, name="Cutover")
    for order in range(1, 5):
        ChecklistItemFactory(phase=first, order=order, title=f"Step {order}")
    ChecklistItemFactory(phase=second, order=1, title="Flip the switch")
    return first, second


def items_of(phase):
    return list(ChecklistItem.objects.filter(phase=phase).order_by("order"))


def seen(items):
    return {item.pk: item.version for item in items}


def posted(items):
    return [f"{item.pk}:{item.version}" for item in items]


def state(project):
    return list(
        ChecklistItem.objects.filter(phase__project=project)
        .order_by("pk")
        .values_list("pk", "phase_id", "order", "done", "owner_id", "owner_title", "version")
    )


def history_count(project):
    return ChecklistItem.history.filter(phase__project=project).count()


# Services


def test_ticking_several_marks_exactly_those_and_records_who(phases, alice, project_a):
    first, _second = phases
    chosen = items_of(first)[:3]
    services.checklist_items_set_done(project=project_a, seen=seen(chosen), done=True, by=alice)
    done = ChecklistItem.objects.filter(done=True)
    assert sorted(done.values_list("title", flat=True)) == ["Step 1", "Step 2", "Step 3"]
    assert {item.done_by for item in done} == {alice}
    assert all(item.version == 2 for item in done)


def test_unticking_several_clears_who_and_when(phases, alice, project_a):
    first, _second = phases
    chosen = items_of(first)[:2]
    services.checklist_items_set_done(project=project_a, seen=seen(chosen), done=True, by=alice)
    services.checklist_items_set_done(
        project=project_a, seen=seen(items_of(first)[:2]), done=False, by=alice
    )
    assert not ChecklistItem.objects.filter(done=True).exists()
    assert not ChecklistItem.objects.filter(done_by__isnull=False).exists()


def test_each_change_is_in_the_history_under_its_author(phases, bob, project_a):
    first, _second = phases
    chosen = items_of(first)[:2]
    services.checklist_items_set_done(project=project_a, seen=seen(chosen), done=True, by=bob)
    entries = [
        entry
        for entry in selectors.project_history(project=project_a)
        if entry.action == "changed" and entry.who == bob.get_full_name()
    ]
    assert sorted(entry.subject for entry in entries) == ["Item: Step 1", "Item: Step 2"]
    for entry in entries:
        assert ("done", "no", "yes") in [(c.field, c.old, c.new) for c in entry.changes]


def test_an_item_changed_meanwhile_leaves_every_selected_item_unchanged(
    phases, alice, bob, project_a
):
    first, _second = phases
    chosen = items_of(first)[:3]
    looked = seen(chosen)
    services.checklist_item_update(
        item=chosen[2], version=chosen[2].version, by=bob, changes={"title": "Step 3 (redone)"}
    )
    before, history = state(project_a), history_count(project_a)
    with pytest.raises(services.BulkRefused) as refused:
        services.checklist_items_set_done(project=project_a, seen=looked, done=True, by=alice)
    assert bob.get_full_name() in str(refused.value)
    assert "“Step 3 (redone)”" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
    assert state(project_a) == before
    assert history_count(project_a) == history


def test_an_item_of_another_project_is_refused_and_nothing_changes(
    phases, alice, project_a, project_b
):
    first, _second = phases
    theirs = ChecklistItemFactory(phase=PhaseFactory(project=project_b, order=1))
    chosen = [*items_of(first)[:2], theirs]
    before = state(project_a)
    with pytest.raises(services.BulkRefused, match="no longer in this plan"):
        services.checklist_items_set_done(project=project_a, seen=seen(chosen), done=True, by=alice)
    assert state(project_a) == before
    theirs.refresh_from_db()
    assert not theirs.done


def test_nothing_selected_is_refused(phases, alice, project_a):
    with pytest.raises(services.BulkRefused, match="Select at least one item"):
        services.checklist_items_set_done(project=project_a, seen={}, done=True, by=alice)


def test_moving_puts_the_items_at_the_end_of_the_other_phase_in_their_order(
    phases, alice, project_a
):
    first, second = phases
    chosen = [items_of(first)[3], items_of(first)[1]]
    services.checklist_items_move_to_phase(
        project=project_a, seen=seen(chosen), phase_id=second.pk, by=alice
    )
    assert [item.title for item in items_of(second)] == ["Flip the switch", "Step 2", "Step 4"]
    assert [item.title for item in items_of(first)] == ["Step 1", "Step 3"]


def test_moving_to_a_phase_of_another_project_is_refused_and_nothing_changes(
    phases, alice, project_a, project_b
):
    first, _second = phases
    elsewhere = PhaseFactory(project=project_b, order=1)
    before = state(project_a)
    with pytest.raises(services.BulkRefused, match="Choose a phase of this plan"):
        services.checklist_items_move_to_phase(
            project=project_a, seen=seen(items_of(first)[:2]), phase_id=elsewhere.pk, by=alice
        )
    assert state(project_a) == before
    assert not ChecklistItem.objects.filter(phase=elsewhere).exists()


def test_moving_to_the_phase_they_are_in_is_refused(phases, alice, project_a):
    first, _second = phases
    with pytest.raises(services.BulkRefused, match="already in “Foundation”"):
        services.checklist_items_move_to_phase(
            project=project_a, seen=seen(items_of(first)[:2]), phase_id=first.pk, by=alice
        )


def test_an_owner_is_a_member_and_a_blank_role_keeps_the_plans_own(phases, alice, bob, project_a):
    first, _second = phases
    chosen = items_of(first)[:2]
    ChecklistItem.objects.filter(pk=chosen[0].pk).update(owner_title="Backend Lead")
    services.checklist_items_assign(
        project=project_a, seen=seen(items_of(first)[:2]), owner_id=bob.pk, owner_title="", by=alice
    )
    assert list(
        ChecklistItem.objects.filter(pk__in=seen(chosen)).values_list("owner", "owner_title")
    ) == [(bob.pk, "Backend Lead"), (bob.pk, "")]
    services.checklist_items_assign(
        project=project_a,
        seen=seen(items_of(first)[:2]),
        owner_id=None,
        owner_title="DBA",
        by=alice,
    )
    assert list(
        ChecklistItem.objects.filter(pk__in=seen(chosen)).values_list("owner", "owner_title")
    ) == [(None, "DBA"), (None, "DBA")]


def test_an_owner_from_outside_the_project_is_refused(phases, alice, oscar, project_a):
    first, _second = phases
    before = state(project_a)
    for outsider in (oscar, UserFactory()):
        with pytest.raises(services.BulkRefused, match="member of this project"):
            services.checklist_items_assign(
                project=project_a,
                seen=seen(items_of(first)[:2]),
                owner_id=outsider.pk,
                owner_title="",
                by=alice,
            )
    assert state(project_a) == before


# Pages


def test_ticking_several_with_htmx_returns_the_phases_and_refreshes_the_figures(
    client, bob, phases, project_a
):
    first, _second = phases
    chosen = items_of(first)[:3]
    client.force_login(bob)
    response = client.post(
        reverse("items-bulk", args=[project_a.pk]),
        {"action": "done", "items": posted(chosen)},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="phase-list"' in body and "<html" not in body
    assert "3 items marked done." in body and "3 of 4 done" in body
    assert "planChanged" in json.loads(response.headers["HX-Trigger"])
    assert sorted(ChecklistItem.objects.filter(done=True).values_list("pk", flat=True)) == [
        item.pk for item in chosen
    ]


def test_without_javascript_a_bulk_change_returns_to_the_plan_with_a_message(
    client, bob, phases, project_a
):
    first, second = phases
    client.force_login(bob)
    response = client.post(
        reverse("items-bulk", args=[project_a.pk]),
        {"action": "move", "to_phase": second.pk, "items": posted(items_of(first)[:2])},
    )
    assert response.status_code == 302
    assert response.url == f"{project_a.get_absolute_url()}#phase-list"
    page = client.get(response.url).content.decode()
    assert "2 items moved to “Cutover”." in page
    assert len(items_of(second)) == 3


def test_assigning_an_owner_names_them(client, alice, bob, phases, project_a):
    first, _second = phases
    client.force_login(alice)
    response = client.post(
        reverse("items-bulk", args=[project_a.pk]),
        {"action": "assign", "owner": bob.pk, "owner_title": "", "items": posted(items_of(first))},
        **HTMX,
    )
    assert response.status_code == 200
    assert f"4 items now owned by {bob.get_full_name()}." in response.content.decode()
    assert set(ChecklistItem.objects.filter(phase=first).values_list("owner", flat=True)) == {
        bob.pk
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "done"}, "Select at least one item first."),
        ({"items": "keep"}, "Choose what to do with the selected items."),
        ({"action": "assign", "items": "keep"}, "Choose the owner"),
        ({"action": "move", "items": "keep"}, "Choose the phase to move the items to."),
        ({"action": "done", "items": ["x:y"]}, "The selection could not be read"),
    ],
)
def test_a_bulk_change_asked_wrongly_says_why_keeps_the_selection_and_changes_nothing(
    data, message, client, bob, phases, project_a
):
    first, _second = phases
    chosen = items_of(first)[:2]
    if data.get("items") == "keep":
        data = {**data, "items": posted(chosen)}
    before = state(project_a)
    client.force_login(bob)
    fragment = client.post(reverse("items-bulk", args=[project_a.pk]), data, **HTMX)
    assert fragment.status_code == 422
    body = fragment.content.decode()
    assert message in body and 'role="alert"' in body
    if data.get("items") != ["x:y"]:
        for item in chosen:
            assert f'value="{item.pk}:{item.version}" form="plan-bulk"' in body
            assert body.count(f'id="item-select-{item.pk}"') == 1
        for item in chosen:  # still ticked, to try again
            box = body[body.index(f'id="item-select-{item.pk}"') :].split(">", 1)[0]
            assert ("checked" in box) is bool(data.get("items"))
    page = client.post(reverse("items-bulk", args=[project_a.pk]), data)
    assert page.status_code == 422
    assert "<html" in page.content.decode() and message in page.content.decode()
    assert state(project_a) == before


def test_a_stale_selection_is_refused_on_the_page_with_who_changed_what(
    client, alice, bob, phases, project_a
):
    first, _second = phases
    chosen = items_of(first)[:3]
    data = {"action": "done", "items": posted(chosen)}
    services.checklist_item_set_done(item=chosen[1], done=True, by=bob)
    before = state(project_a)
    client.force_login(alice)
    response = client.post(reverse("items-bulk", args=[project_a.pk]), data, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert f"{bob.get_full_name()} changed “Step 2”" in body
    assert state(project_a) == before


@pytest.mark.parametrize("persona", ["carol", "erin", "victor"])
def test_members_who_may_not_edit_cannot_change_several_items(
    persona, client, request, phases, project_a
):
    first, _second = phases
    before = state(project_a)
    client.force_login(request.getfixturevalue(persona))
    response = client.post(
        reverse("items-bulk", args=[project_a.pk]),
        {"action": "done", "items": posted(items_of(first))},
        **HTMX,
    )
    assert response.status_code == 403
    assert state(project_a) == before


def test_outsiders_do_not_learn_the_plan_exists(client, oscar, phases, project_a):
    first, _second = phases
    client.force_login(oscar)
    response = client.post(
        reverse("items-bulk", args=[project_a.pk]),
        {"action": "done", "items": posted(items_of(first))},
    )
    assert response.status_code == 404
    assert not ChecklistItem.objects.filter(done=True).exists()


def test_only_those_who_may_edit_get_boxes_to_select_items(client, bob, victor, phases, project_a):
    client.force_login(bob)
    page = client.get(project_a.get_absolute_url()).content.decode()
    assert page.count('name="items"') == 5 and 'id="plan-bulk"' in page
    client.force_login(victor)
    page = client.get(project_a.get_absolute_url()).content.decode()
    assert "Step 1" in page
    assert 'name="items"' not in page and 'id="plan-bulk"' not in page
