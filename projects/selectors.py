"""Reads of programmes and projects that pages share."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.urls import reverse

from core.people import PORTAL, display_name
from core.words import value_words
from projects import variance
from projects.facts import Activity
from projects.models import ChecklistItem, Membership, Phase, PhaseStatus, PhaseView, Project


def with_checklist_counts(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate `items_total` / `items_done`: live checklist items of live phases."""
    live = Q(phases__deleted_at__isnull=True, phases__checklist_items__deleted_at__isnull=True)
    return projects.annotate(
        items_total=Count("phases__checklist_items", filter=live, distinct=True),
        items_done=Count(
            "phases__checklist_items",
            filter=live & Q(phases__checklist_items__done=True),
            distinct=True,
        ),
    )


def attach_variance(project: Project) -> None:
    project.variance = variance.project_variance(
        project=project, items_done=project.items_done, items_total=project.items_total
    )


LIVE_ITEMS = Q(checklist_items__deleted_at__isnull=True)


def phase_list_for_project(*, project: Project) -> QuerySet[Phase]:
    """The project's phases in order, each with its checklist (owner and who ticked it) and
    `item_count` / `items_done`."""
    items = (
        ChecklistItem.objects.filter(deleted_at__isnull=True)
        .select_related("owner", "done_by")
        .order_by("order", "pk")
    )
    return (
        Phase.objects.filter(project=project, deleted_at__isnull=True)
        .prefetch_related(Prefetch("checklist_items", queryset=items))
        .annotate(
            item_count=Count("checklist_items", filter=LIVE_ITEMS),
            items_done=Count("checklist_items", filter=LIVE_ITEMS & Q(checklist_items__done=True)),
        )
        .order_by("order")
    )


# A plan with more live checklist items than this opens with only its current phases open.
LONG_PLAN_ITEMS = 30
CURRENT_STATUSES = {PhaseStatus.IN_PROGRESS, PhaseStatus.BLOCKED}
FINISHED_STATUSES = {PhaseStatus.DONE, PhaseStatus.SKIPPED}


def plan_phases_for(*, project: Project, user) -> list[Phase]:
    """The project's phases as `phase_list_for_project` gives them, each with `open`: whether
    `user` sees it open on the plan page. Their own choice wins; without one a short plan is
    open throughout and a long one only at its current phases."""
    phases = phase_list_for_project(project=project)
    if user is not None and user.is_authenticated:
        kept = PhaseView.objects.filter(phase=OuterRef("pk"), user=user).values("expanded")
        phases = phases.annotate(kept_open=Subquery(kept[:1]))
    phases = list(phases)
    long_plan = sum(phase.item_count for phase in phases) > LONG_PLAN_ITEMS
    current = current_phases(phases)
    for phase in phases:
        kept_open = getattr(phase, "kept_open", None)
        if kept_open is not None:
            phase.open = kept_open
        else:
            phase.open = not long_plan or phase in current
    return phases


def current_phases(phases: list[Phase]) -> list[Phase]:
    """The phases under way (in progress or blocked); when none is, the first not finished."""
    under_way = [phase for phase in phases if phase.status in CURRENT_STATUSES]
    if under_way:
        return under_way
    return [phase for phase in phases if phase.status not in FINISHED_STATUSES][:1]


def phase_with_checklist(*, phase_id: int, user=None) -> Phase:
    """One phase as `plan_phases_for` gives it, for re-rendering its row."""
    phase = Phase.objects.select_related("project").get(pk=phase_id)
    for row in plan_phases_for(project=phase.project, user=user):
        if row.pk == phase_id:
            return row
    raise Phase.DoesNotExist("The phase is deleted.")


def project_variance_for(*, project: Project, phases) -> variance.ProjectVariance:
    """The project's variance from phases given by `phase_list_for_project` (no queries)."""
    return variance.project_variance(
        project=project,
        items_done=sum(phase.items_done for phase in phases),
        items_total=sum(phase.item_count for phase in phases),
    )


@dataclass(frozen=True)
class DeletedPlanRows:
    phases: list[Phase]
    items: list[ChecklistItem]


def deleted_plan_rows(*, project: Project) -> DeletedPlanRows:
    """Deleted phases and checklist items of the project, newest first, to restore."""
    phases = Phase.objects.filter(project=project, deleted_at__isnull=False)
    items = ChecklistItem.objects.filter(
        phase__project=project, phase__deleted_at__isnull=True, deleted_at__isnull=False
    ).select_related("phase")
    return DeletedPlanRows(
        phases=list(phases.order_by("-deleted_at")[:20]),
        items=list(items.order_by("-deleted_at")[:20]),
    )


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str
    subject: str
    action: str  # added, changed, deleted, restored
    changes: list[FieldChange]


HISTORY_HIDDEN_FIELDS = {"id", "version", "updated_at", "created_at", "deleted_at"}


def project_history(*, project: Project, limit: int = 300) -> list[HistoryEntry]:
    """Every recorded change to the project, its phases and checklist items, newest first:
    who, when, and each field's old → new value."""
    phase_ids = Phase.objects.filter(project=project).values("pk")
    record_sets = [
        ("Project", Project.history.filter(id=project.pk)),
        ("Phase", Phase.history.filter(project_id=project.pk)),
        ("Item", ChecklistItem.history.filter(phase_id__in=phase_ids)),
    ]
    users = {user.pk: user for user in _history_users(record_sets)}
    entries = []
    for kind, records in record_sets:
        model = records.model.instance_type
        fields = [
            field
            for field in model._meta.concrete_fields
            if field.name not in HISTORY_HIDDEN_FIELDS
        ]
        previous_by_object = {}
        for record in records.order_by("id", "history_date", "history_id"):
            previous = previous_by_object.get(record.id)
            previous_by_object[record.id] = record
            entries.append(_history_entry(kind, record, previous, fields, users))
    entries = [entry for entry in entries if entry is not None]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def _user_attnames(model) -> list[str]:
    user_model = get_user_model()
    return [
        field.attname
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is user_model
    ]


def _history_users(record_sets) -> list:
    """The users named anywhere in the records (editors, owners, managers), in one query each
    set of records and one for the users."""
    ids = set()
    for _kind, records in record_sets:
        for row in records.values_list(*_user_attnames(records.model)):
            ids.update(value for value in row if value)
    return list(get_user_model().objects.filter(pk__in=ids))


def _display(field, value, users) -> str:
    if value in (None, ""):
        return "—"
    if field.is_relation:
        user = users.get(value) if field.related_model is get_user_model() else None
        return display_name(user, f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return value_words(value)


def _history_entry(kind, record, previous, fields, users) -> HistoryEntry | None:
    who_user = users.get(record.history_user_id)
    who = display_name(who_user, PORTAL)
    subject = f"{kind}: {getattr(record, 'name', None) or getattr(record, 'title', '')}"
    if record.history_type == "+" or previous is None:
        action, changes = "added", []
    elif record.history_type == "-":
        action, changes = "removed", []
    else:
        changes = [
            FieldChange(
                field.verbose_name,
                _display(field, getattr(previous, field.attname), users),
                _display(field, getattr(record, field.attname), users),
            )
            for field in fields
            if getattr(previous, field.attname) != getattr(record, field.attname)
        ]
        # Projects are not soft-deleted; phases and items are.
        was_deleted = getattr(previous, "deleted_at", None) is not None
        is_deleted = getattr(record, "deleted_at", None) is not None
        if is_deleted and not was_deleted:
            action = "deleted"
        elif was_deleted and not is_deleted:
            action = "restored"
        elif changes:
            action = "changed"
        else:
            return None
    return HistoryEntry(record.history_date, who, subject, action, changes)


def project_managers(*, project: Project) -> list:
    """Who manages the project: its named manager and members with the manager role on it or
    on its programme."""
    memberships = Membership.objects.filter(role="manager").filter(
        Q(project=project) | Q(programme_id=project.programme_id)
    )
    managers = [membership.user for membership in memberships.select_related("user")]
    return [*managers, project.manager] if project.manager else managers


def project_members(*, project: Project) -> list:
    """The active users with a role on the project or on its programme, by username."""
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(memberships__project=project) | Q(memberships__programme_id=project.programme_id))
        .distinct()
        .order_by("username")
    )


HISTORY_VERBS = {"+": "added", "~": "changed", "-": "deleted"}


def plan_activity(
    *, projects: QuerySet[Project], since: datetime | None = None, limit: int | None = None
) -> list[Activity]:
    """Changes to the overviews, phases and checklist items of `projects`, newest first
    (at most `limit` of each kind)."""
    phase_projects = dict(Phase.objects.filter(project__in=projects).values_list("pk", "project"))
    record_sets = [
        ("the overview", Project.history.filter(id__in=projects.values("pk")), "id"),
        ("phase", Phase.history.filter(project_id__in=projects.values("pk")), "project_id"),
        ("item", ChecklistItem.history.filter(phase_id__in=list(phase_projects)), None),
    ]
    activity = []
    for kind, records, project_field in record_sets:
        if since:
            records = records.filter(history_date__gte=since)
        records = records.select_related("history_user").order_by("-history_date")
        for record in records[:limit]:
            subject = kind if kind == "the overview" else f"{kind} “{_record_title(record)}”"
            verb = HISTORY_VERBS.get(record.history_type, "changed")
            if kind == "item" and record.history_type == "~" and _ticked_then(record):
                verb = "ticked"
            if project_field:
                project_id = getattr(record, project_field)
            else:
                project_id = phase_projects[record.phase_id]
            activity.append(
                Activity(
                    project_id=project_id,
                    at=record.history_date,
                    who=display_name(record.history_user, PORTAL),
                    text=f"{verb} {subject}",
                    url=reverse("project-detail", args=[project_id]),
                )
            )
    return activity


def _ticked_then(record) -> bool:
    """Was this change of a checklist item its ticking?"""
    done_at = record.done_at
    return bool(record.done and done_at and abs(record.history_date - done_at).total_seconds() < 5)


def _record_title(record) -> str:
    return getattr(record, "name", "") or getattr(record, "title", "")
