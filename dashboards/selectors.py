"""Reads of the status pages: status rows, the programme board, the project dashboard."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from django.db.models import Count, Prefetch, Q, QuerySet

from core.people import display_name
from dashboards import status
from dashboards.templatetags.live import fingerprint
from gates import selectors as gate_selectors
from metrics import selectors as metric_selectors
from projects import policy, variance
from projects.facts import Activity
from projects.models import Membership, Phase, Programme, Project
from projects.policy import User
from projects.selectors import (
    attach_variance,
    phase_list_for_project,
    plan_activity,
    with_checklist_counts,
)
from risks import selectors as risk_selectors
from risks.facts import RiskFact


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
        with_checklist_counts(policy.visible_projects(user))
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
            attach_variance(project)
            project.rating = ratings[project.pk]
        overviews.append(ProgrammeOverview(programme, programme.visible_projects))
    return overviews


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


@dataclass
class ProjectStatusRow:
    """One project on a status page: its rating with reasons and the figures behind it."""

    project: Project
    variance: variance.ProjectVariance
    rating: status.Rating
    kpis_total: int
    kpis_breached: int
    kpis_at_risk: int
    critical_risks: list[RiskFact]
    pipeline: list  # gates.models.Gate, in order
    next_gate: object | None
    rollback_gates: list
    flagged_gates: list  # approved against the advice, rollback triggers unjudged, or stale
    conditions_overdue: int = 0  # conditions of CONDITIONAL GO decisions past due, not met

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
            [
                (g.name, g.override_reason, g.rollback_unjudged, g.approval_stale_reasons)
                for g in self.flagged_gates
            ],
            self.conditions_overdue,
        )
        return hashlib.blake2s(repr(facts).encode(), digest_size=16).hexdigest()


def project_status_rows(*, projects: QuerySet[Project], today: date) -> list[ProjectStatusRow]:
    """Status rows for `projects` (ordered by code): a constant number of queries however many
    projects, KPIs, risks or gates there are; counts are aggregated in the database."""
    projects = list(
        with_checklist_counts(projects).select_related("manager", "programme").order_by("code")
    )
    ids = Project.objects.filter(pk__in=[project.pk for project in projects])
    kpi_counts = metric_selectors.kpi_status_counts(projects=ids)
    kpi_facts = metric_selectors.kpi_status_facts(projects=ids)
    risk_facts = risk_selectors.risk_status_facts(projects=ids)
    pipelines = gate_selectors.gate_pipelines(projects=ids, today=today)
    rows = []
    for project in projects:
        attach_variance(project)
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
                flagged_gates=[
                    g
                    for g in pipeline
                    if g.overridden_recommendation
                    or g.rollback_unjudged
                    or (g.approval_stale_at and not g.reapproved)
                ],
                conditions_overdue=sum(gate.conditions_overdue for gate in pipeline),
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


def tiles_fingerprint(tiles) -> str:
    """Which KPI tiles a live list holds, in which order, and which of them are pinned (the
    pinned ones are a group of their own)."""
    return fingerprint(",".join(f"{tile.kpi.pk}{'p' if tile.pinned else ''}" for tile in tiles))


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
        return tiles_fingerprint(self.kpi_tiles)


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


def project_activity(
    *, projects: QuerySet[Project], since: datetime | None = None, limit: int | None = None
) -> list[Activity]:
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
    kpi_tiles: list  # metrics.selectors.KPITile, those the reader pinned first
    activity: list[Activity]


def project_kpi_tiles(*, project: Project, user: User) -> list:
    """Every KPI of the project as a tile, those `user` pinned first: two queries."""
    one = Project.objects.filter(pk=project.pk)
    return metric_selectors.kpi_tiles(projects=one, watch_only=False, limit=None, pinned_by=user)


def project_dashboard(*, project: Project, user: User, today: date) -> ProjectDashboard:
    """Everything the project status page shows `user`, in a constant number of queries."""
    one = Project.objects.filter(pk=project.pk)
    return ProjectDashboard(
        row=project_status_rows(projects=one, today=today)[0],
        phases=list(phase_list_for_project(project=project)),
        heatmap=risk_selectors.risk_heatmap(projects=one),
        kpi_tiles=project_kpi_tiles(project=project, user=user),
        activity=project_activity(projects=one, limit=15),
    )
