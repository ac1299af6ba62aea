"""Writes to plans. Edits of a shared row are checked against the version the editor saw."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Model, Q
from django.utils import timezone

from core import versioning
from core.people import display_name
from projects.models import ChecklistItem, Membership, Phase, PhaseView, Project, Role


def _update_versioned(model: type[Model], *, pk: int, version: int | None, by, changes: dict):
    """Apply `changes` to row `pk` if it is still at `version` (None: whatever its version);
    StaleEdit, naming who saved in between, if it is not."""
    row = versioning.version_claim(model, pk=pk, version=version)
    for field, value in changes.items():
        setattr(row, field, value)
    row.full_clean()
    row._history_user = by
    row.save()
    return row


@transaction.atomic
def project_update(*, project: Project, version: int | None, by, changes: dict) -> Project:
    """Change the project's overview, schedule or budget."""
    return _update_versioned(Project, pk=project.pk, version=version, by=by, changes=changes)


def _lock_project(project_id: int) -> None:
    # Serialises changes to the order of a project's phases.
    Project.objects.select_for_update().filter(pk=project_id).exists()


def _save(row: Model, by, **changes: Any) -> Model:
    for field, value in changes.items():
        setattr(row, field, value)
    row.full_clean()
    row._history_user = by
    row.save()
    return row


@transaction.atomic
def phase_create(*, project: Project, by, **fields) -> Phase:
    """Add a phase at the end of the project's plan."""
    _lock_project(project.pk)
    last = project.phases.filter(deleted_at__isnull=True).aggregate(last=Max("order"))["last"]
    return _save(Phase(project=project, order=(last or 0) + 1), by, **fields)


@transaction.atomic
def phase_update(*, phase: Phase, version: int | None, by, changes: dict) -> Phase:
    return _update_versioned(Phase, pk=phase.pk, version=version, by=by, changes=changes)


def _reposition(row: Model, order: int, by) -> None:
    """Give `row` a new position: a new version, and a line in the history."""
    row.order, row.version, row._history_user = order, row.version + 1, by
    row.save()


def _shift(rows, step: int, by) -> None:
    """Move each of `rows` by `step` positions, one row at a time in an order that never puts
    two rows on one position (the database checks uniqueness row by row)."""
    for row in sorted(rows, key=lambda row: row.order, reverse=step > 0):
        _reposition(row, row.order + step, by)


@transaction.atomic
def phase_move(*, phase: Phase, by, direction: str) -> None:
    """Swap the phase with its neighbour above ('up') or below ('down')."""
    _lock_project(phase.project_id)
    phases = list(Phase.objects.filter(project_id=phase.project_id, deleted_at__isnull=True))
    index = next(i for i, other in enumerate(phases) if other.pk == phase.pk)
    neighbour_index = index - 1 if direction == "up" else index + 1
    if not 0 <= neighbour_index < len(phases):
        return
    mine, theirs = phases[index], phases[neighbour_index]
    my_order, their_order = mine.order, theirs.order
    # Park this phase past the end while the other takes its place.
    Phase.objects.filter(pk=mine.pk).update(order=max(other.order for other in phases) + 1)
    _reposition(theirs, my_order, by)
    _reposition(mine, their_order, by)


@transaction.atomic
def phase_delete(*, phase: Phase, by) -> Phase:
    """Hide the phase (and with it its checklist); `phase_restore` undoes it."""
    _lock_project(phase.project_id)
    phase = Phase.objects.get(pk=phase.pk)
    if phase.deleted_at:
        return phase
    _save(phase, by, deleted_at=timezone.now(), version=phase.version + 1)
    later = Phase.objects.filter(
        project_id=phase.project_id, deleted_at__isnull=True, order__gt=phase.order
    )
    _shift(list(later), -1, by)
    return phase


@transaction.atomic
def phase_restore(*, phase: Phase, by) -> Phase:
    """Put a deleted phase back where it was."""
    _lock_project(phase.project_id)
    phase = Phase.objects.get(pk=phase.pk)
    if not phase.deleted_at:
        return phase
    live = Phase.objects.filter(project_id=phase.project_id, deleted_at__isnull=True)
    last = live.aggregate(last=Max("order"))["last"] or 0
    position = min(phase.order, last + 1)
    _shift(list(live.filter(order__gte=position)), +1, by)
    return _save(phase, by, deleted_at=None, order=position, version=phase.version + 1)


@transaction.atomic
def checklist_item_create(*, phase: Phase, by, **fields) -> ChecklistItem:
    """Add an item at the end of the phase's checklist."""
    last = phase.checklist_items.filter(deleted_at__isnull=True).aggregate(last=Max("order"))
    return _save(ChecklistItem(phase=phase, order=(last["last"] or 0) + 1), by, **fields)


@transaction.atomic
def checklist_item_update(
    *, item: ChecklistItem, version: int | None, by, changes: dict
) -> ChecklistItem:
    changes = dict(changes)
    if "done" in changes:
        stored = ChecklistItem.objects.get(pk=item.pk)
        changes.update(_done_changes(stored, done=changes["done"], by=by))
    return _update_versioned(ChecklistItem, pk=item.pk, version=version, by=by, changes=changes)


def _done_changes(item: ChecklistItem, *, done: bool, by) -> dict:
    if done and not item.done:
        return {"done": True, "done_at": timezone.now(), "done_by": by}
    if not done:
        return {"done": False, "done_at": None, "done_by": None}
    return {}


@transaction.atomic
def checklist_item_set_done(*, item: ChecklistItem, done: bool, by) -> ChecklistItem:
    """Tick the item (recording who and when) or untick it."""
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    changes = _done_changes(item, done=done, by=by)
    if not changes:
        return item
    return _save(item, by, version=item.version + 1, **changes)


@transaction.atomic
def checklist_item_save(*, item: ChecklistItem, by) -> ChecklistItem:
    """Save an item edited as a whole (in the admin): ticking records who and when."""
    if item.pk is None:
        item.order = item.order or 1
        item.done_at, item.done_by = (timezone.now(), by) if item.done else (None, None)
        return _save(item, by)
    changes = {
        field.name: getattr(item, field.name)
        for field in ChecklistItem._meta.concrete_fields
        if field.editable and field.name not in {"id", "done_at", "done_by"}
    }
    return checklist_item_update(item=item, version=None, by=by, changes=changes)


@transaction.atomic
def checklist_item_move(*, item: ChecklistItem, by, direction: str) -> None:
    """Swap the item with its neighbour in the phase's checklist."""
    _lock_project(item.phase.project_id)
    items = list(ChecklistItem.objects.filter(phase_id=item.phase_id, deleted_at__isnull=True))
    index = next(i for i, other in enumerate(items) if other.pk == item.pk)
    neighbour_index = index - 1 if direction == "up" else index + 1
    if not 0 <= neighbour_index < len(items):
        return
    items[index], items[neighbour_index] = items[neighbour_index], items[index]
    for position, row in enumerate(items, start=1):
        if row.order != position:
            _reposition(row, position, by)


@transaction.atomic
def checklist_item_delete(*, item: ChecklistItem, by) -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if item.deleted_at:
        return item
    return _save(item, by, deleted_at=timezone.now(), version=item.version + 1)


@transaction.atomic
def checklist_item_restore(*, item: ChecklistItem, by) -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if not item.deleted_at:
        return item
    return _save(item, by, deleted_at=None, version=item.version + 1)


@transaction.atomic
def phase_view_set(*, phase: Phase, user, expanded: bool) -> PhaseView:
    """Remember whether `user` keeps `phase` open or collapsed on the plan page."""
    view, _created = PhaseView.objects.update_or_create(
        user=user, phase=phase, defaults={"expanded": expanded}
    )
    return view


# Several checklist items at once: all of them change, or none does.


class BulkRefused(Exception):
    """A change of several checklist items that cannot be made as asked; nothing was changed."""


def _claim_items(*, project: Project, seen: dict[int, int]) -> list[ChecklistItem]:
    """The items `seen` (id: the version the editor saw) of `project`'s live phases, locked,
    in plan order; BulkRefused if none is named, one is gone, or one changed since."""
    if not seen:
        raise BulkRefused("Select at least one item first.")
    _lock_project(project.pk)
    items = list(
        ChecklistItem.objects.select_for_update()
        .filter(
            pk__in=seen,
            phase__project_id=project.pk,
            phase__deleted_at__isnull=True,
            deleted_at__isnull=True,
        )
        .select_related("phase")
        .order_by("phase__order", "order", "pk")
    )
    if len(items) != len(seen):
        missing = len(seen) - len(items)
        raise BulkRefused(
            f"{missing} of the selected items {'is' if missing == 1 else 'are'} no longer in "
            "this plan (deleted or moved away). Nothing was changed; reload the plan."
        )
    for item in items:
        if item.version != seen[item.pk]:
            stale = versioning.StaleEdit(item)
            when = f" at {timezone.localtime(stale.changed_at):%H:%M}" if stale.changed_at else ""
            raise BulkRefused(
                f"{display_name(stale.changed_by, 'Someone')} changed “{item.title}”{when}, "
                "after you loaded the plan. Nothing was changed: check the plan below and try "
                "again."
            )
    return items


@transaction.atomic
def checklist_items_set_done(
    *, project: Project, seen: dict[int, int], done: bool, by
) -> list[ChecklistItem]:
    """Tick (recording who and when) or untick the items, as `checklist_item_set_done` does
    for one."""
    items = _claim_items(project=project, seen=seen)
    for item in items:
        changes = _done_changes(item, done=done, by=by)
        if changes:
            _save(item, by, version=item.version + 1, **changes)
    return items


@transaction.atomic
def checklist_items_assign(
    *, project: Project, seen: dict[int, int], owner_id: int | None, owner_title: str, by
) -> list[ChecklistItem]:
    """Make one member of the project (None: no one) the owner of the items; a non-blank
    `owner_title` also replaces the role the plan names, a blank one keeps it."""
    owner = None
    if owner_id is not None:
        members = get_user_model().objects.filter(
            Q(memberships__project_id=project.pk)
            | Q(memberships__programme_id=project.programme_id),
            is_active=True,
        )
        owner = members.filter(pk=owner_id).first()
        if owner is None:
            raise BulkRefused("Only a member of this project can own its items.")
    items = _claim_items(project=project, seen=seen)
    changes = {"owner": owner, **({"owner_title": owner_title} if owner_title else {})}
    for item in items:
        if any(getattr(item, field) != value for field, value in changes.items()):
            _save(item, by, version=item.version + 1, **changes)
    return items


@transaction.atomic
def checklist_items_move_to_phase(
    *, project: Project, seen: dict[int, int], phase_id: int, by
) -> list[ChecklistItem]:
    """Move the items to the end of another phase of the same plan, in their order."""
    _lock_project(project.pk)
    target = Phase.objects.filter(pk=phase_id, project_id=project.pk, deleted_at__isnull=True)
    target = target.first()
    if target is None:
        raise BulkRefused("Choose a phase of this plan to move the items to.")
    items = _claim_items(project=project, seen=seen)
    if all(item.phase_id == target.pk for item in items):
        raise BulkRefused(f"The selected items are already in “{target.name}”.")
    last = target.checklist_items.filter(deleted_at__isnull=True).aggregate(last=Max("order"))
    position = last["last"] or 0
    for item in items:
        if item.phase_id == target.pk:
            continue
        position += 1
        _save(item, by, phase=target, order=position, version=item.version + 1)
    return items


class MembershipRefused(Exception):
    """A change of memberships that would leave a project without a manager."""


def _keeps_a_manager(membership: Membership) -> None:
    """Refuse to take the manager role away from `membership` if no one else manages its
    project (on the project, or on its whole programme). The project's row is locked, so two
    managers leaving at once cannot both go."""
    project = Project.objects.select_for_update().get(pk=membership.project_id)
    others = (
        Membership.objects.filter(role=Role.MANAGER)
        .filter(
            Q(project_id=project.pk) | Q(project__isnull=True, programme_id=project.programme_id)
        )
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise MembershipRefused(
            f"{membership.user.get_username()} is the last manager of {project.code}: make "
            "someone else its manager first."
        )


@transaction.atomic
def membership_save(*, membership: Membership) -> Membership:
    """Grant or change a user's role on a project (one membership per user and project); a
    project keeps at least one manager."""
    membership.full_clean()
    if membership.pk and membership.project_id and membership.role != Role.MANAGER:
        was_manager = Membership.objects.filter(pk=membership.pk, role=Role.MANAGER).exists()
        if was_manager:
            _keeps_a_manager(membership)
    membership.save()
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    """End a membership; a project keeps at least one manager."""
    if membership.project_id and membership.role == Role.MANAGER:
        _keeps_a_manager(membership)
    membership.delete()
