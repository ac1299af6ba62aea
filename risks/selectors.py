"""Reads of the risk register that pages share."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, RowNumber, Substr

from core.people import PORTAL, display_name
from projects.facts import Activity
from projects.models import Project
from risks.facts import RiskFact
from risks.models import (
    Impact,
    Likelihood,
    MitigationAction,
    Risk,
    RiskAssessment,
    RiskEscalation,
    RiskStatus,
)
from risks.scoring import Band, band_of, band_score_range

OPEN_STATUSES = (RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.OCCURRED)
SORTS = {
    "score": ["-score", "key"],
    "key": [F("key_number").asc(nulls_last=True), "key"],
    "title": ["title"],
    "status": ["status", "-score"],
    "review": ["review_by", "-score"],
    "owner": ["owner_title", "-score"],
}


def _residual(level: str):
    """The lowest `level` ('likelihood' or 'impact') that a done mitigation action of the risk
    brings it to, or the risk's own."""
    lowest = (
        MitigationAction.objects.filter(risk=OuterRef("pk"), done=True)
        .exclude(**{f"reduces_{level}_to": None})
        .order_by(f"reduces_{level}_to")
        .values(f"reduces_{level}_to")[:1]
    )
    return Coalesce(Subquery(lowest), F(level))


def _with_register_columns(risks: QuerySet[Risk]) -> QuerySet[Risk]:
    """Annotate the residual position, whether the risk is escalated now, and the key's
    number (to sort R2 before R10)."""
    return risks.select_related("project", "owner").annotate(
        residual_likelihood=_residual("likelihood"),
        residual_impact=_residual("impact"),
        escalated=Exists(
            RiskEscalation.objects.filter(risk=OuterRef("pk"), resolved_at__isnull=True)
        ),
        key_number=Case(
            When(key__regex=r"^R[0-9]+$", then=Cast(Substr("key", 2), IntegerField())),
            default=None,
            output_field=IntegerField(),
        ),
    )


@dataclass(frozen=True)
class RegisterFilters:
    status: str = ""
    category: str = ""
    owner: str = ""
    band: str = ""
    q: str = ""
    likelihood: int | None = None
    impact: int | None = None
    sort: str = "score"

    @classmethod
    def from_query(cls, params) -> "RegisterFilters":
        def level(name):
            value = params.get(name, "")
            return int(value) if value.isdigit() and 1 <= int(value) <= 5 else None

        band = params.get("band", "")
        sort = params.get("sort", "score")
        return cls(
            status=params.get("status", ""),
            category=params.get("category", ""),
            owner=params.get("owner", "").strip(),
            band=band if band in {b.value for b in Band} else "",
            q=params.get("q", "").strip(),
            likelihood=level("likelihood"),
            impact=level("impact"),
            sort=sort if sort in SORTS else "score",
        )

    @property
    def active(self) -> bool:
        return any(
            [
                self.status,
                self.category,
                self.owner,
                self.band,
                self.q,
                self.likelihood,
                self.impact,
            ]
        )


def risk_register(*, projects: QuerySet[Project], filters: RegisterFilters) -> QuerySet[Risk]:
    """The risks of `projects` that pass `filters`, sorted as asked."""
    risks = Risk.objects.filter(project__in=projects)
    if filters.status == "unresolved":
        risks = risks.filter(status__in=OPEN_STATUSES)
    elif filters.status:
        risks = risks.filter(status=filters.status)
    if filters.category:
        risks = risks.filter(category=filters.category)
    if filters.owner:
        risks = risks.filter(
            Q(owner_title__icontains=filters.owner)
            | Q(owner__username__iexact=filters.owner)
            | Q(owner__last_name__icontains=filters.owner)
        )
    if filters.band:
        low, high = band_score_range(filters.band)
        risks = risks.filter(score__gte=low, score__lte=high)
    if filters.q:
        risks = risks.filter(
            Q(title__icontains=filters.q)
            | Q(description__icontains=filters.q)
            | Q(mitigation__icontains=filters.q)
            | Q(key__iexact=filters.q)
        )
    if filters.likelihood:
        risks = risks.filter(likelihood=filters.likelihood)
    if filters.impact:
        risks = risks.filter(impact=filters.impact)
    return _with_register_columns(risks).order_by(*SORTS[filters.sort])


def risk_list_for_project(*, project: Project) -> QuerySet[Risk]:
    """The project's risks, highest score first."""
    return Risk.objects.filter(project=project).select_related("owner").order_by("-score", "key")


@dataclass(frozen=True)
class Heatmap:
    """Counts of risks per (likelihood, impact) cell: `counts[l - 1][i - 1]`."""

    counts: list[list[int]]
    residual: bool

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))

    @classmethod
    def empty(cls, residual: bool = False) -> "Heatmap":
        return cls([[0] * 5 for _ in range(5)], residual)

    @classmethod
    def combined(cls, heatmaps: list["Heatmap"], residual: bool = False) -> "Heatmap":
        """The heatmaps of several projects as one: their counts added cell by cell."""
        counts = [
            [sum(heatmap.counts[row][column] for heatmap in heatmaps) for column in range(5)]
            for row in range(5)
        ]
        return cls(counts, residual)


def _heatmap_cells(projects: QuerySet[Project], residual: bool, *group_by: str):
    """The unresolved risks of `projects` counted per (likelihood, impact) cell (and per
    `group_by`), in the database; with `residual`, at the position their done mitigation
    actions leave them."""
    risks = Risk.objects.filter(project__in=projects, status__in=OPEN_STATUSES)
    if residual:
        risks = risks.annotate(cell_l=_residual("likelihood"), cell_i=_residual("impact"))
    else:
        risks = risks.annotate(cell_l=F("likelihood"), cell_i=F("impact"))
    return risks.values(*group_by, "cell_l", "cell_i").annotate(n=Count("pk")).order_by()


def risk_heatmap(*, projects: QuerySet[Project], residual: bool = False) -> Heatmap:
    """How many unresolved risks of `projects`, together, sit in each cell: one query."""
    counts = Heatmap.empty(residual).counts
    for cell in _heatmap_cells(projects, residual):
        counts[cell["cell_l"] - 1][cell["cell_i"] - 1] = cell["n"]
    return Heatmap(counts, residual)


def risk_heatmaps(*, projects: QuerySet[Project], residual: bool = False) -> dict[int, Heatmap]:
    """Per project id, the heatmap of its own unresolved risks: one query for any number of
    projects. A project without unresolved risks is absent (`Heatmap.empty()` reads as one)."""
    counts: dict[int, list[list[int]]] = {}
    for cell in _heatmap_cells(projects, residual, "project_id"):
        grid = counts.setdefault(cell["project_id"], Heatmap.empty(residual).counts)
        grid[cell["cell_l"] - 1][cell["cell_i"] - 1] = cell["n"]
    return {project_id: Heatmap(grid, residual) for project_id, grid in counts.items()}


LIKELIHOOD_LABELS = [label for _, label in Likelihood.choices]
IMPACT_LABELS = [label for _, label in Impact.choices]
# The levels' words alone ("Rare", "Severe"): what a heatmap's axes read.
LIKELIHOOD_WORDS = [label.split(" · ")[1] for label in LIKELIHOOD_LABELS]
IMPACT_WORDS = [label.split(" · ")[1] for label in IMPACT_LABELS]


def risk_detail(*, risk_id: int) -> Risk:
    """One risk with its history (oldest first), actions and escalations."""
    return (
        _with_register_columns(Risk.objects.filter(pk=risk_id))
        .prefetch_related(
            Prefetch(
                "assessments",
                queryset=RiskAssessment.objects.select_related("assessed_by").order_by(
                    "assessed_at", "pk"
                ),
            ),
            Prefetch(
                "actions",
                queryset=MitigationAction.objects.select_related("owner", "done_by").order_by(
                    "order", "pk"
                ),
            ),
            "escalations",
        )
        .get()
    )


def risk_status_facts(*, projects: QuerySet[Project]) -> dict[int, list[RiskFact]]:
    """Per project id, its unresolved high and critical risks (worst first), for the status
    rules: one query for any number of projects."""
    high_from = band_score_range(Band.HIGH)[0]
    rows = (
        Risk.objects.filter(project__in=projects, status__in=OPEN_STATUSES, score__gte=high_from)
        .order_by("project_id", "-score", "review_by", "key")
        .values_list("project_id", "key", "title", "score", "review_by")
    )
    facts: dict[int, list[RiskFact]] = {}
    for project_id, key, title, score, review_by in rows:
        facts.setdefault(project_id, []).append(
            RiskFact(key=key, title=title, band=band_of(score).value, review_by=review_by)
        )
    return facts


def top_risks(*, projects: QuerySet[Project], limit: int = 5) -> dict[int, list[Risk]]:
    """Per project id, its `limit` highest-scoring unresolved risks, ranked in the database."""
    ranked = (
        Risk.objects.filter(project__in=projects, status__in=OPEN_STATUSES)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("project_id")],
                order_by=[F("score").desc(), F("key").asc()],
            )
        )
        .select_related("owner")
    )
    result: dict[int, list[Risk]] = {}
    for risk in ranked.filter(rank__lte=limit).order_by("project_id", "rank"):
        result.setdefault(risk.project_id, []).append(risk)
    return result


def risk_activity(
    *, projects: QuerySet[Project], since: datetime | None = None, limit: int | None = None
) -> list[Activity]:
    """Risk assessments (new risks and reassessments) in `projects`, newest first."""
    assessments = RiskAssessment.objects.filter(risk__project__in=projects)
    if since:
        assessments = assessments.filter(assessed_at__gte=since)
    assessments = assessments.select_related("risk", "assessed_by").order_by("-assessed_at", "-pk")
    return [
        Activity(
            project_id=assessment.risk.project_id,
            at=assessment.assessed_at,
            who=display_name(assessment.assessed_by, PORTAL),
            text=f"assessed {assessment.risk.key} {assessment.risk.title}: "
            f"{assessment.likelihood} × {assessment.impact}, {assessment.get_status_display()}",
            url=assessment.risk.get_absolute_url(),
        )
        for assessment in assessments[:limit]
    ]
