"""Reads of programmes and projects that pages share."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from core.people import PORTAL, display_name
from gates import selectors as gate_selectors
from metrics import selectors as metric_selectors
from projects import policy, status, variance
from projects.models import (
    ChecklistItem,
    Membership,
    Notification,
    NotificationKind,
    NotificationMute,
    Phase,
    Programme,
    Project,
    StatusSnapshot,
)
from projects.policy import User
from projects.services import WORKER_HEARTBEAT_KEY, WORKERS_SEEN_KEY
from projects.templatetags.live import fingerprint
from risks import selectors as risk_selectors


@dataclass(frozen=True)
class ProgrammeOverview:
    programme: Programme
    projects: list[Project]


def programme_overviews_for(*, user: User, today: date) -> list[ProgrammeOverview]:
    """The programmes `user` may see, each with the projects in it they may see.

    Each project carries `phase_count`, `phases_done`, `variance`, `rating` (by the status
    rules) and `my_roles` (the user's roles on it).
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
    ratings = {
        row.project.pk: row.rating
        for row in project_status_rows(projects=policy.visible_projects(user), today=today)
    }
    overviews = []
    for programme in programmes:
        for project in programme.visible_projects:
            project.my_roles = sorted(
                roles.get(("project", project.pk), set())
                | roles.get(("programme", programme.pk), set())
            )
            _attach_variance(project)
            project.rating = ratings[project.pk]
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
        return display_name(user, f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


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


@dataclass
class ProjectStatusRow:
    """One project on a status page: its rating with reasons and the figures behind it."""

    project: Project
    variance: variance.ProjectVariance
    rating: status.Rating
    kpis_total: int
    kpis_breached: int
    kpis_at_risk: int
    critical_risks: list[status.RiskFact]
    pipeline: list  # gates.models.Gate, in order
    next_gate: object | None
    rollback_gates: list

    @property
    def rag(self) -> variance.RAG:
        return self.rating.rag

    @property
    def fingerprint(self) -> str:
        """A digest of everything the row shows: the key its rendered fragment is kept under,
        so that any change of these facts renders it anew."""
        project, gate = self.project, self.next_gate
        facts = (
            project.pk,
            project.code,
            project.name,
            project.manager_name,
            display_name(project.manager, "") if project.manager_id else "",
            self.variance,
            self.rating,
            (self.kpis_total, self.kpis_breached, self.kpis_at_risk),
            self.critical_risks,
            gate
            and (
                gate.pk,
                gate.name,
                gate.state,
                getattr(gate, "signed", None),
                getattr(gate, "approver_count", None),
                gate.due_date,
            ),
            [(g.name, g.rollback_reason) for g in self.rollback_gates],
        )
        return hashlib.blake2s(repr(facts).encode(), digest_size=16).hexdigest()


def project_status_rows(*, projects: QuerySet[Project], today: date) -> list[ProjectStatusRow]:
    """Status rows for `projects` (ordered by code): a constant number of queries however many
    projects, KPIs, risks or gates there are; counts are aggregated in the database."""
    projects = list(
        _with_checklist_counts(projects).select_related("manager", "programme").order_by("code")
    )
    ids = Project.objects.filter(pk__in=[project.pk for project in projects])
    kpi_counts = metric_selectors.kpi_status_counts(projects=ids)
    kpi_facts = metric_selectors.kpi_status_facts(projects=ids)
    risk_facts = risk_selectors.risk_status_facts(projects=ids)
    pipelines = gate_selectors.gate_pipelines(projects=ids)
    rows = []
    for project in projects:
        _attach_variance(project)
        counts = kpi_counts.get(project.pk, metric_selectors.KPIStatusCounts())
        risks = risk_facts.get(project.pk, [])
        pipeline = pipelines.get(project.pk, [])
        facts = status.StatusFacts(
            variance=project.variance,
            kpis=kpi_facts.get(project.pk, []),
            risks=risks,
            gates=gate_selectors.gate_status_facts(pipeline),
        )
        rows.append(
            ProjectStatusRow(
                project=project,
                variance=project.variance,
                rating=status.project_status(facts, today=today),
                kpis_total=counts.total,
                kpis_breached=counts.breached,
                kpis_at_risk=counts.at_risk,
                critical_risks=[risk for risk in risks if risk.band == "critical"],
                pipeline=pipeline,
                next_gate=gate_selectors.next_gate(pipeline),
                rollback_gates=[g for g in pipeline if g.rollback_recommended_at],
            )
        )
    return rows


RAG_ORDER = [variance.RAG.RED, variance.RAG.AMBER, variance.RAG.GREEN, variance.RAG.UNKNOWN]
SORT_CHOICES = [
    ("rag", "Rating, worst first"),
    ("schedule", "Schedule slip"),
    ("budget", "Budget overrun"),
    ("progress", "Progress, least first"),
    ("code", "Project code"),
]
STATUS_SORTS = {
    "rag": lambda row: (RAG_ORDER.index(row.rag), -len(row.rating.reasons), row.project.code),
    "code": lambda row: row.project.code,
    "schedule": lambda row: (-(row.variance.schedule.days or 0), row.project.code),
    "budget": lambda row: (-(row.variance.budget.percent or 0), row.project.code),
    "progress": lambda row: (row.variance.percent_complete or 0, row.project.code),
}


@dataclass(frozen=True)
class StatusView:
    """How a status page lists its projects: which ratings it shows, in which order."""

    rags: tuple[str, ...] = ()
    sort: str = "rag"

    @classmethod
    def from_query(cls, params) -> "StatusView":
        known = {rag.value for rag in RAG_ORDER}
        rags = tuple(rag for rag in params.getlist("rag") if rag in known)
        sort = params.get("sort", "rag")
        return cls(rags=rags, sort=sort if sort in STATUS_SORTS else "rag")

    def apply(self, rows: list[ProjectStatusRow]) -> list[ProjectStatusRow]:
        shown = [row for row in rows if not self.rags or row.rag in self.rags]
        return sorted(shown, key=STATUS_SORTS[self.sort])

    @property
    def query(self) -> str:
        return urlencode([("sort", self.sort), *(("rag", rag) for rag in self.rags)])


def members_fingerprint(objects) -> str:
    """Which objects a live list holds, in which order."""
    return fingerprint(",".join(str(obj.pk) for obj in objects))


@dataclass
class ProgrammeStatus:
    programme: Programme
    rows: list[ProjectStatusRow]  # as the view asked: filtered and sorted
    rag_summary: list[tuple[variance.RAG, int]]  # every visible project, whatever the filter
    heatmap: object  # risks.selectors.Heatmap
    kpi_tiles: list  # metrics.selectors.KPITile

    @property
    def rows_fingerprint(self) -> str:
        """Which rows the board shows, in which order: a poll swaps the whole list when it
        changes, and single rows otherwise."""
        return members_fingerprint(row.project for row in self.rows)

    @property
    def tiles_fingerprint(self) -> str:
        return members_fingerprint(tile.kpi for tile in self.kpi_tiles)


def programme_status(
    *, user: User, programme: Programme, view: StatusView, today: date
) -> ProgrammeStatus:
    """Everything the programme status page shows, in a constant number of queries."""
    visible = policy.visible_projects(user).filter(programme=programme)
    rows = project_status_rows(projects=visible, today=today)
    return ProgrammeStatus(
        programme=programme,
        rows=view.apply(rows),
        rag_summary=[(rag, sum(row.rag == rag for row in rows)) for rag in RAG_ORDER[:3]],
        heatmap=risk_selectors.risk_heatmap(projects=visible),
        kpi_tiles=metric_selectors.kpi_tiles(projects=visible),
    )


HISTORY_VERBS = {"+": "added", "~": "changed", "-": "deleted"}


def plan_activity(
    *, projects: QuerySet[Project], since: datetime | None = None, limit: int | None = None
) -> list[status.Activity]:
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
                status.Activity(
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


def project_activity(
    *, projects: QuerySet[Project], since: datetime | None = None, limit: int | None = None
) -> list[status.Activity]:
    """What happened in `projects`, newest first: plan edits, risk assessments and gate
    events. A fixed number of queries, each limited in the database."""
    activity = [
        *plan_activity(projects=projects, since=since, limit=limit),
        *risk_selectors.risk_activity(projects=projects, since=since, limit=limit),
        *gate_selectors.gate_activity(projects=projects, since=since, limit=limit),
    ]
    activity.sort(key=lambda entry: entry.at, reverse=True)
    return activity[:limit]


@dataclass
class ProjectDashboard:
    row: ProjectStatusRow
    phases: list[Phase]
    heatmap: object  # risks.selectors.Heatmap
    kpi_tiles: list  # metrics.selectors.KPITile
    activity: list[status.Activity]


def project_dashboard(*, project: Project, today: date) -> ProjectDashboard:
    """Everything the project status page shows, in a constant number of queries."""
    one = Project.objects.filter(pk=project.pk)
    return ProjectDashboard(
        row=project_status_rows(projects=one, today=today)[0],
        phases=list(phase_list_for_project(project=project)),
        heatmap=risk_selectors.risk_heatmap(projects=one),
        kpi_tiles=metric_selectors.kpi_tiles(projects=one, watch_only=False, limit=None),
        activity=project_activity(projects=one, limit=15),
    )


@dataclass
class ProjectReport:
    """One project's part of a weekly status report."""

    row: ProjectStatusRow
    last_week: StatusSnapshot | None
    kpis: list  # metrics.models.KPI with latest_value, earlier_value and trend
    top_risks: list  # risks.models.Risk
    gates_decided: list  # gates.models.Gate decided in the week
    gates_pending: list  # gates.models.Gate still to decide
    changes: list[status.Activity]

    @property
    def project(self) -> Project:
        return self.row.project

    @property
    def rag_last_week(self) -> str:
        return variance.RAG(self.last_week.rag).label if self.last_week else "not recorded"

    @property
    def rag_change(self) -> str:
        if self.last_week is None:
            return "no rating recorded a week ago"
        before = variance.RAG(self.last_week.rag)
        if before == self.row.rag:
            return f"unchanged ({before.label})"
        return f"{before.label} → {self.row.rag.label}"


@dataclass
class WeeklyReport:
    title: str
    programme: Programme
    project: Project | None  # None: the programme's report
    since: datetime
    generated_at: datetime
    sections: list[ProjectReport]

    @property
    def rag_summary(self) -> list[tuple[variance.RAG, int]]:
        return [
            (rag, sum(section.row.rag == rag for section in self.sections)) for rag in RAG_ORDER[:3]
        ]


CHANGES_PER_PROJECT = 12


def weekly_report(
    *, programme: Programme, projects: QuerySet[Project], now: datetime, project=None
) -> WeeklyReport:
    """The weekly status report of `projects` (a programme's, or one project's) over the seven
    days up to `now`: a constant number of queries for any number of projects."""
    since = now - timedelta(days=7)
    today = timezone.localdate(now)
    rows = project_status_rows(projects=projects, today=today)
    ids = Project.objects.filter(pk__in=[row.project.pk for row in rows])
    last_week: dict[int, StatusSnapshot] = {}
    week_ago = today - timedelta(days=7)
    for snapshot in StatusSnapshot.objects.filter(
        project__in=ids, taken_on__lte=week_ago, taken_on__gt=week_ago - timedelta(days=7)
    ).order_by("-taken_on"):
        last_week.setdefault(snapshot.project_id, snapshot)  # the newest in the window
    kpis = metric_selectors.kpi_report_lines(projects=ids, since=since)
    risks = risk_selectors.top_risks(projects=ids, limit=5)
    changes: dict[int, list[status.Activity]] = {}
    for entry in project_activity(projects=ids, since=since):
        changes.setdefault(entry.project_id, []).append(entry)
    sections = [
        ProjectReport(
            row=row,
            last_week=last_week.get(row.project.pk),
            kpis=kpis.get(row.project.pk, []),
            top_risks=risks.get(row.project.pk, []),
            gates_decided=[g for g in row.pipeline if g.decided_at and g.decided_at >= since],
            gates_pending=[g for g in row.pipeline if g.state in gate_selectors.PENDING_STATES],
            changes=changes.get(row.project.pk, []),
        )
        for row in rows
    ]
    title = f"{project.code} {project.name}" if project else programme.name
    return WeeklyReport(
        title=title,
        programme=programme,
        project=project,
        since=since,
        generated_at=now,
        sections=sections,
    )
