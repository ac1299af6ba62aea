"""Reads of programmes and projects that pages share."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet

from projects import policy, variance
from projects.models import (
    ChecklistItem,
    Membership,
    Notification,
    NotificationKind,
    NotificationMute,
    Phase,
    Programme,
    Project,
)
from projects.policy import User
from projects.services import WORKER_HEARTBEAT_KEY, WORKERS_SEEN_KEY


@dataclass(frozen=True)
class ProgrammeOverview:
    programme: Programme
    projects: list[Project]


def programme_overviews_for(*, user: User) -> list[ProgrammeOverview]:
    """The programmes `user` may see, each with the projects in it they may see.

    Each project carries `phase_count`, `phases_done`, `variance` and `my_roles` (the user's
    roles on it).
    """
    live_phases = Q(phases__deleted_at__isnull=True)
    projects = (
        _with_checklist_counts(policy.visible_projects(user))
        .select_related("manager")
        .annotate(
            phase_count=Count("phases", filter=live_phases, distinct=True),
            phases_done=Count(
                "phases", filter=live_phases & Q(phases__status="done"), distinct=True
            ),
        )
        .order_by("code")
    )
    programmes = policy.visible_programmes(user).prefetch_related(
        Prefetch("projects", queryset=projects, to_attr="visible_projects")
    )
    roles = _roles_by_scope(user)
    overviews = []
    for programme in programmes:
        for project in programme.visible_projects:
            project.my_roles = sorted(
                roles.get(("project", project.pk), set())
                | roles.get(("programme", programme.pk), set())
            )
            _attach_variance(project)
        overviews.append(ProgrammeOverview(programme, programme.visible_projects))
    return overviews


def _with_checklist_counts(projects: QuerySet[Project]) -> QuerySet[Project]:
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


def _attach_variance(project: Project) -> None:
    project.variance = variance.project_variance(
        project=project, items_done=project.items_done, items_total=project.items_total
    )


def _roles_by_scope(user: User) -> dict[tuple[str, int], set[str]]:
    roles: dict[tuple[str, int], set[str]] = {}
    if not (user and user.is_authenticated):
        return roles
    for project_id, programme_id, role in Membership.objects.filter(user=user).values_list(
        "project_id", "programme_id", "role"
    ):
        scope = ("project", project_id) if project_id else ("programme", programme_id)
        roles.setdefault(scope, set()).add(role)
    return roles


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


def phase_with_checklist(*, phase_id: int) -> Phase:
    """One phase as `phase_list_for_project` gives it, for re-rendering its row."""
    phase = Phase.objects.get(pk=phase_id)
    return phase_list_for_project(project=phase.project).get(pk=phase_id)


def project_variance_for(*, project: Project, phases) -> variance.ProjectVariance:
    """The project's variance from phases given by `phase_list_for_project` (no queries)."""
    return variance.project_variance(
        project=project,
        items_done=sum(phase.items_done for phase in phases),
        items_total=sum(phase.item_count for phase in phases),
    )


def project_list_for_programme(*, user: User, programme: Programme) -> list[Project]:
    """The programme's projects `user` may see, each with `variance` (schedule, budget and
    progress from its checklists, aggregated in the database)."""
    projects = list(
        _with_checklist_counts(policy.visible_projects(user).filter(programme=programme))
        .select_related("manager")
        .order_by("code")
    )
    for project in projects:
        _attach_variance(project)
    return projects


def worker_heartbeat_age(*, now: datetime) -> timedelta | None:
    """How long ago a worker last ran the heartbeat task; None if it never has."""
    recorded = cache.get(WORKER_HEARTBEAT_KEY)
    return now - datetime.fromisoformat(recorded) if recorded else None


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
        return (user.get_full_name() or user.username) if user else f"#{value}"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _history_entry(kind, record, previous, fields, users) -> HistoryEntry | None:
    who_user = users.get(record.history_user_id)
    who = (who_user.get_full_name() or who_user.username) if who_user else "System"
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
        if previous.deleted_at is None and record.deleted_at is not None:
            action = "deleted"
        elif previous.deleted_at is not None and record.deleted_at is None:
            action = "restored"
        elif changes:
            action = "changed"
        else:
            return None
    return HistoryEntry(record.history_date, who, subject, action, changes)


def notifications_for(*, user: User, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-pk")[:limit])


def notification_kinds_for(*, user: User) -> list[tuple[str, str, bool]]:
    """(kind, label, muted) for every kind of notification."""
    muted = set(NotificationMute.objects.filter(user=user).values_list("kind", flat=True))
    return [(kind, label, kind in muted) for kind, label in NotificationKind.choices]


def project_managers(*, project: Project) -> list:
    """Who manages the project: its named manager and members with the manager role on it or
    on its programme."""
    memberships = Membership.objects.filter(role="manager").filter(
        Q(project=project) | Q(programme_id=project.programme_id)
    )
    managers = [membership.user for membership in memberships.select_related("user")]
    return [*managers, project.manager] if project.manager else managers


def workers_seen(*, now: datetime) -> list[tuple[str, timedelta]]:
    """(worker, how long ago it last ran the heartbeat), most recent first."""
    seen = cache.get(WORKERS_SEEN_KEY) or {}
    return sorted(
        ((name, now - datetime.fromisoformat(at)) for name, at in seen.items()),
        key=lambda pair: pair[1],
    )
