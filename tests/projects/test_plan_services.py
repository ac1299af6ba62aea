"""Writes to plans: positions, soft deletion, ticking, and edits that must not be lost."""

import pytest
from django.core.exceptions import ValidationError

from core.versioning import StaleEdit
from projects import services
from projects.models import ChecklistItem, Phase
from tests.factories import ChecklistItemFactory, PhaseFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def live_phase_names(project):
    return list(
        Phase.objects.filter(project=project, deleted_at__isnull=True)
        .order_by("order")
        .values_list("order", "name")
    )


def test_a_new_phase_goes_to_the_end_of_the_plan():
    project, pm = ProjectFactory(), UserFactory()
    services.phase_create(project=project, by=pm, name="Foundation")
    services.phase_create(project=project, by=pm, name="Dual-write")
    assert live_phase_names(project) == [(1, "Foundation"), (2, "Dual-write")]


def test_an_edit_based_on_an_old_version_is_refused_and_keeps_the_other_edit():
    phase, alice, bob = PhaseFactory(name="Foundation"), UserFactory(), UserFactory()
    seen_by_both = phase.version
    services.phase_update(phase=phase, version=seen_by_both, by=alice, changes={"goal": "Alice's"})
    with pytest.raises(StaleEdit) as refused:
        services.phase_update(phase=phase, version=seen_by_both, by=bob, changes={"goal": "Bob's"})
    phase.refresh_from_db()
    assert phase.goal == "Alice's"
    assert refused.value.current.goal == "Alice's"
    assert refused.value.changed_by == alice
    # Bob re-applies his values on top of the version he has now seen.
    services.phase_update(
        phase=phase, version=refused.value.current.version, by=bob, changes={"goal": "Bob's"}
    )
    phase.refresh_from_db()
    assert phase.goal == "Bob's"


def test_the_version_check_is_made_by_the_database_update():
    phase = PhaseFactory()
    Phase.objects.filter(pk=phase.pk).update(version=5)  # someone else's save, unseen here
    assert phase.version == 1
    with pytest.raises(StaleEdit):
        services.phase_update(phase=phase, version=phase.version, by=None, changes={"goal": "x"})


def test_an_invalid_edit_changes_nothing():
    phase = PhaseFactory(status="in_progress")
    with pytest.raises(ValidationError):
        services.phase_update(
            phase=phase, version=phase.version, by=None, changes={"actual_end": phase.baseline_end}
        )
    phase.refresh_from_db()
    assert phase.actual_end is None and phase.version == 1


def test_moving_swaps_neighbours_and_stops_at_the_ends():
    project = ProjectFactory()
    first, _second, third = (PhaseFactory(project=project, order=n, name=str(n)) for n in (1, 2, 3))
    services.phase_move(phase=third, by=None, direction="up")
    assert [name for _, name in live_phase_names(project)] == ["1", "3", "2"]
    services.phase_move(phase=first, by=None, direction="up")
    assert [name for _, name in live_phase_names(project)] == ["1", "3", "2"]
    assert [order for order, _ in live_phase_names(project)] == [1, 2, 3]


def test_deleting_a_phase_closes_the_gap_and_undo_puts_it_back():
    project = ProjectFactory()
    phases = [PhaseFactory(project=project, order=n, name=f"P{n}") for n in (1, 2, 3)]
    services.phase_delete(phase=phases[1], by=None)
    assert live_phase_names(project) == [(1, "P1"), (2, "P3")]
    services.phase_restore(phase=phases[1], by=None)
    assert live_phase_names(project) == [(1, "P1"), (2, "P2"), (3, "P3")]


def test_ticking_records_who_and_when_and_unticking_clears_both():
    item, bob = ChecklistItemFactory(), UserFactory()
    item = services.checklist_item_set_done(item=item, done=True, by=bob)
    assert item.done and item.done_by == bob and item.done_at is not None
    item = services.checklist_item_set_done(item=item, done=False, by=bob)
    assert not item.done and item.done_by is None and item.done_at is None


def test_deleted_items_leave_the_checklist_until_restored():
    item = ChecklistItemFactory()
    services.checklist_item_delete(item=item, by=None)
    assert not ChecklistItem.objects.filter(pk=item.pk, deleted_at__isnull=True).exists()
    services.checklist_item_restore(item=item, by=None)
    assert ChecklistItem.objects.filter(pk=item.pk, deleted_at__isnull=True).exists()


def test_items_move_within_their_phase():
    phase = PhaseFactory()
    items = [ChecklistItemFactory(phase=phase, order=n, title=f"T{n}") for n in (1, 2, 3)]
    services.checklist_item_move(item=items[0], by=None, direction="down")
    titles = (
        ChecklistItem.objects.filter(phase=phase).order_by("order").values_list("title", flat=True)
    )
    assert list(titles) == ["T2", "T1", "T3"]


def test_every_change_is_recorded_with_who_made_it():
    phase, alice = PhaseFactory(name="Foundation"), UserFactory()
    services.phase_update(phase=phase, version=1, by=alice, changes={"name": "Foundations"})
    latest = phase.history.first()
    assert latest.history_user == alice and latest.name == "Foundations"
    assert latest.prev_record.name == "Foundation"


def test_moves_are_in_the_history_too():
    project, alice = ProjectFactory(), UserFactory()
    first = PhaseFactory(project=project, order=1)
    PhaseFactory(project=project, order=2)
    services.phase_move(phase=first, by=alice, direction="down")
    latest = first.history.first()
    assert (latest.order, latest.history_user) == (2, alice)
