"""What a recognised plan holds (phases with their items, risks, KPIs, gates, notes, what was
not understood), and the draft a plan is recognised into."""

from dataclasses import dataclass, field

from gates.models import GateKind
from metrics.models import KPICategory, KPIKind
from plans.markdown.targets import Target
from plans.markdown.timing import Span


@dataclass
class PlanItem:
    title: str
    line: int
    done: bool = False
    section: str = ""
    kind: str = "task"  # projects.models.ChecklistItemKind
    detail: str = ""  # the item's sub-items and code, as the plan writes them


@dataclass
class PlanPhase:
    order: int
    name: str
    line: int
    timing: str = ""
    span: Span | None = None
    goal: str = ""
    deliverables: list[str] = field(default_factory=list)
    resources: str = ""
    owners: str = ""
    success_criteria: list[str] = field(default_factory=list)
    items: list[PlanItem] = field(default_factory=list)
    key: str = ""  # "1" for "Phase 1", "D" for "Track D"


@dataclass
class PlanRisk:
    title: str
    line: int
    likelihood: int = 3
    impact: int = 3
    levels_stated: bool = True
    description: str = ""
    category: str = ""
    mitigation: str = ""
    owner: str = ""
    key: str = ""


@dataclass
class PlanKPI:
    name: str
    line: int
    kind: str = "lagging"  # metrics.models.KPIKind
    category: str = "technical"  # metrics.models.KPICategory
    baseline_text: str = ""
    target_text: str = ""
    target: Target | None = None
    method: str = ""
    cadence_text: str = ""
    owner: str = ""
    unit: str = ""  # as a table's Unit column states it

    @property
    def kind_label(self) -> str:
        return KPIKind(self.kind).label

    @property
    def category_label(self) -> str:
        return KPICategory(self.category).label


@dataclass
class PlanCriterion:
    text: str
    line: int
    done: bool = False


@dataclass
class PlanGate:
    name: str
    kind: str  # gates.models.GateKind
    line: int
    approvers: list[str] = field(default_factory=list)
    timing: str = ""
    criteria: list[PlanCriterion] = field(default_factory=list)
    rollout_percent: int | None = None
    description: str = ""
    derived: bool = False  # inferred (success criteria, rollout percentages), not a named gate
    blocks: list[int] = field(default_factory=list)  # ids of the blocks it was read from
    inline: bool = False  # an "Approval Gate: …" line at the end of a phase's section

    @property
    def kind_label(self) -> str:
        return GateKind(self.kind).label


@dataclass
class Note:
    title: str
    line: int
    text: str
    verbatim: bool = False  # already Markdown with its own headings


@dataclass
class Unrecognised:
    line: int
    text: str
    why: str


@dataclass
class ImportedPlan:
    overview: dict[str, str] = field(default_factory=dict)
    phases: list[PlanPhase] = field(default_factory=list)
    risks: list[PlanRisk] = field(default_factory=list)
    kpis: list[PlanKPI] = field(default_factory=list)
    gates: list[PlanGate] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    unrecognised: list[Unrecognised] = field(default_factory=list)

    @property
    def checklist_items(self) -> list[PlanItem]:
        return [item for phase in self.phases for item in phase.items]

    @property
    def gate_criteria(self) -> list[PlanCriterion]:
        return [criterion for gate in self.gates for criterion in gate.criteria]

    def counts(self) -> dict[str, int]:
        return {
            "phases": len(self.phases),
            "checklist_items": len(self.checklist_items),
            "risks": len(self.risks),
            "kpis": len(self.kpis),
            "gates": len(self.gates),
            "gate_criteria": len(self.gate_criteria),
        }


@dataclass
class Draft:
    """A plan being recognised, with what has been read of the document so far."""

    plan: ImportedPlan = field(default_factory=ImportedPlan)
    phase_by_key: dict[str, PlanPhase] = field(default_factory=dict)
    gate_table_seen: bool = False
    used: set[int] = field(default_factory=set)  # ids of blocks turned into something
    # a list's id → its announcing label's ("**Tasks:**")
    label_of: dict[int, int] = field(default_factory=dict)
