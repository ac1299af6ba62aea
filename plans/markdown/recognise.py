"""What a plan says, recognised from its sections: overview, phases with their checklists,
risks, KPIs and gates. Every item keeps the line it came from; what is not understood is kept
as a project note and listed, never dropped."""

import re
from dataclasses import dataclass, field, replace

from plans.markdown import reader
from plans.markdown.reader import CodeBlock, ListItem, Paragraph, Section, Table, plain
from plans.markdown.targets import Target, parse_target, split_kpi_line
from plans.markdown.timing import Span, span_of


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


# -- words that say what a section or a label is -------------------------------------------

PHASE_TITLE = re.compile(
    r"^(?:(phase|stage|sprint|track|milestone)\s+([A-Z]|\d+)\b|(week|month|day)s?\s+\d+)",
    re.IGNORECASE,
)
PHASE_MENTION = re.compile(r"\b(phase|stage|sprint|track|milestone)\s+([A-Z]|\d+)\b", re.I)
SUBPHASE_TITLE = re.compile(r"^([A-Z]\d{1,2})\s*:\s*(.+)$")
OVERVIEW_LABELS = {
    "project name": "name",
    "initiative": "summary",
    "project": "name",
    "current status": "status",
    "status": "status",
    "target delivery": "target_delivery",
    "target date": "target_delivery",
    "date": "date",
    "project manager": "manager",
    "document owner": "manager",
    "owner": "manager",
    "stakeholders": "stakeholders",
    "approach": "approach",
    "rationale": "approach_rationale",
    "timeline": "timeline",
    "estimated duration": "timeline",
    "scope": "scope",
    "phase": "stage",
    "budget": "budget",
}
PHASE_LABELS = {
    "key deliverables": "deliverables",
    "deliverables": "deliverables",
    "resource requirements": "resources",
    "resources": "resources",
    "success criteria": "success_criteria",
    "owner": "owners",
    "owners": "owners",
    "goal": "goal",
    "objective": "goal",
}
LIKELIHOOD_WORDS = ("likelihood", "probability")
SECTION_RATINGS = {"critical": (4, 5), "high": (3, 4), "medium": (3, 3), "low": (2, 2)}
MONEY = re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)\s*(k|m)?\b", re.IGNORECASE)
PROSE_RISK = re.compile(
    r"^(?P<title>.+?)\s*[:—–-]\s*(?P<l>[a-z ]+?)\s+(?:probability|likelihood)\s*,\s*"
    r"(?P<i>[a-z ]+?)\s+impact\b",
    re.IGNORECASE,
)
ARROW_MITIGATION = re.compile(
    r"^(?P<title>.+?)\s*(?:→|->)\s*(?:mitigation\s*:\s*)?(?P<m>.+)$", re.I
)
ROLLOUT = re.compile(r"(\d{1,3})\s*%(?:\s*(?:→|->|,)\s*\d{1,3}\s*%){2,}")
PERCENT = re.compile(r"(\d{1,3})\s*%")
GATE_KINDS = {
    "phase exit": "phase_exit",
    "go / no-go": "go_no_go",
    "go/no-go": "go_no_go",
    "rollout stage": "rollout_stage",
}


def _gate_kind(text: str) -> str:
    """A gate's kind from a table cell such as 'Rollout stage 25%'."""
    text = text.lower()
    return next((kind for word, kind in GATE_KINDS.items() if text.startswith(word)), "phase_exit")


ROLLBACK = re.compile(r"rollback\s+if\s+(.+)$|automated\s+rollback\s+if\s+(.+)$", re.IGNORECASE)


def _step(timing: str) -> str:
    """The step a gate's timing names: "After D1" and "Before D1" both name D1."""
    match = re.search(r"\b([A-Z]?\d+)\b", timing)
    return match.group(1) if match else ""


def _key(title: str) -> str:
    return " ".join(plain(title).lower().replace("&", "and").split())


def _level_of(word: str) -> int | None:
    from risks.scoring import level_from

    try:
        return level_from(word.strip().split()[-1])
    except (ValueError, IndexError):
        return None


class _Recogniser:
    def __init__(self) -> None:
        self.plan = ImportedPlan()
        self.phase_by_key: dict[str, PlanPhase] = {}
        self.gate_table_seen = False
        self.used: set[int] = set()  # ids of blocks turned into something
        self.label_of: dict[int, int] = {}  # a list's id → its announcing label's ("**Tasks:**")

    # -- entry -----------------------------------------------------------------------------
    def run(self, root: Section) -> ImportedPlan:
        self._keep_notes_section(root)
        self._phases(root)
        self._spans_below(root)
        _inherit_phase(root, None)
        for section in root.walk():
            self._section(section, self._context(section))
        self._gates_from_criteria()
        self._rollout_stages(root)
        if self.gate_table_seen:
            self._inline_gates_into_table()
            # A plan with an approval-gates table names its gates there; success criteria stay
            # on their phases instead of becoming gates of their own.
            for gate in self.plan.gates:
                if gate.derived:
                    self.used -= set(gate.blocks)  # what they were read from stays, as notes
            self.plan.gates = [gate for gate in self.plan.gates if not gate.derived]
        self._leftovers(root)
        self.plan.overview.setdefault("name", _document_name(root))
        return self.plan

    def _keep_notes_section(self, root: Section) -> None:
        """A '## Notes' section (as an export writes) is kept as it stands, unread."""
        for section in list(root.walk()):
            for child in list(section.children):
                if _key(child.title) == "notes":
                    section.children.remove(child)
                    self.plan.notes.append(Note("Notes", child.line, child.body, verbatim=True))

    def _context(self, section: Section) -> str:
        return _key(section.title)

    # -- phases ----------------------------------------------------------------------------
    def _phases(self, root: Section) -> None:
        """Phases are the headings that name one (Phase 1, Track D, Week 3, Sprint 2) at the
        shallowest level where such headings stand."""
        titles = [s for s in root.children if s.level == 1]
        document_title = titles[0] if len(titles) == 1 else None  # "# Sprint 8 - Plan"
        candidates = [
            s
            for s in root.walk()
            if s.level and s is not document_title and PHASE_TITLE.match(plain(s.title))
        ]
        if not candidates:
            return
        level = min(section.level for section in candidates)
        for section in candidates:
            if section.level == level:
                self._phase_from(section)

    def _phase_from(self, section: Section) -> PlanPhase:
        title = plain(section.title)
        match = PHASE_TITLE.match(title)
        key = (match.group(2) or "").upper() if match else ""
        span = span_of(title)
        name = re.sub(
            r"\s*\((?:[^)]*\b(?:week|month|day|sprint)s?\b[^)]*)\)", "", title, flags=re.I
        )
        name = re.sub(r"^(?:phase|stage|sprint|milestone)\s+\w+\s*[:.–-]?\s*", "", name, flags=re.I)
        if title.lower().startswith(("week", "month", "day")):
            name = title
        phase = PlanPhase(
            order=len(self.plan.phases) + 1,
            name=name.strip(" :-–") or title,
            line=section.line,
            timing=_timing_words(title, span),
            span=span,
            key=key,
        )
        self.plan.phases.append(phase)
        for mention in PHASE_MENTION.finditer(title):  # "Phase 1: Track D" answers to both
            self.phase_by_key.setdefault(mention.group(2).upper(), phase)
        self.phase_by_key.setdefault(_key(phase.name), phase)
        section.phase = phase
        return phase

    def _spans_below(self, root: Section) -> None:
        """A phase whose heading names no time takes it from its sub-sections (D1 (Day 1) …
        D6 (Day 4): days 1–4)."""
        for section in root.walk():
            phase = getattr(section, "phase", None)
            if phase is None or phase.span is not None:
                continue
            spans = [span_of(plain(s.title)) for s in section.walk() if s is not section]
            spans = [span for span in spans if span]
            if spans:
                start = min(span.start_day for span in spans)
                end = max(span.end_day for span in spans)
                unit_day = all(span.text.lower().startswith("day") for span in spans)
                timing = f"Days {start + 1}-{end + 1}" if unit_day else ""
                phase.span = Span(start, end, timing)
                phase.timing = timing

    def _phase_for(self, section: Section) -> PlanPhase | None:
        return getattr(section, "phase", None)

    # -- sections --------------------------------------------------------------------------
    def _section(self, section: Section, title: str) -> None:
        phase = self._phase_for(section) or self._enclosing_phase(section)
        pending = None  # a label ending in nothing ("**Tasks:**") announces the next list
        label_block = None
        for block in section.blocks:
            if isinstance(block, Table):
                self._table(block, section, phase)
            elif isinstance(block, list) and pending is not None:
                self._announced_list(block, section, phase, pending)
                self.label_of[id(block)] = id(label_block)
            elif isinstance(block, list):
                self._list(block, section, phase, title)
            elif isinstance(block, Paragraph):
                pair = reader.labelled(block.text)
                if pair and not pair[1].strip():
                    pending, label_block = pair[0], block
                    continue
                self._paragraph(block, section, phase)
            elif isinstance(block, CodeBlock):
                items = reader.code_checklist(block)
                if items and phase is not None:
                    self._checklist(items, phase, section=plain(section.title))
                    self.used.add(id(block))
            pending = None

    def _announced_list(self, items: list[ListItem], section: Section, phase, label: str) -> None:
        """The list after '**Tasks:**', '**Tests:**' or '**Phase 2 (Dual-Write):**': tasks of
        the phase, or (numbered, after a phase's name) the steps that describe it."""
        if any(item.checked is not None for item in items):
            self._checked_list(items, section, phase, _key(section.title))
            return
        named = PHASE_TITLE.match(label)
        if named and re.search(r"monitor|metric|kpi", _key(section.title)):
            kept = []
            for item in items:
                if re.search(r"\blogs?\b", plain(item.text), re.IGNORECASE):
                    # "Slow query logs (> 100ms)": the figure says what is logged, not a target.
                    why = "a log to watch, not a metric with a target"
                elif self._kpi_line(item, _key(section.title), numeric_only=True):
                    continue
                else:
                    why = "a metric without a numeric target"
                self.plan.unrecognised.append(Unrecognised(item.line, plain(item.text), why))
                kept.append(_item_text(item, 0))
            if kept:  # the lines that are not metrics stay in the notes
                self.plan.notes.append(
                    Note(f"{plain(section.title)}: {label}", items[0].line, "\n".join(kept))
                )
            self.used.add(id(items))
            return
        if named and re.search(r"deploy|rollout|release", _key(section.title)):
            # "Deployment Order / **Phase 1: Track D (Off-Hours Window)** 1. Deploy code …":
            # steps to carry out and tick off.
            target = self._phase_by_label(label)
            if target is not None:
                window = re.search(r"\(([^)]*)\)\s*$", label)
                group = plain(section.title) + (f" ({window.group(1)})" if window else "")
                for item in items:
                    target.items.append(
                        PlanItem(plain(item.text), item.line, section=group, detail=item.detail)
                    )
                self.used.add(id(items))
                return
        if "signif" in label.lower() or (
            phase is None and re.search(r"approv|sign-?off", _key(section.title))
        ):
            gate = self._signoff_gate(section)
            gate.criteria.extend(PlanCriterion(plain(i.text), i.line) for i in items)
            self.used.add(id(items))
            return
        if named:
            target = self._phase_by_label(label)
            if target is None:
                return
            described = all((pair := reader.labelled(i.text)) and pair[1].strip() for i in items)
            if described or (items and items[0].ordered):
                # Numbered steps, or "Why first: …" facts: they describe the phase.
                lines = [f"{n}. {plain(i.text)}" for n, i in enumerate(items, 1)]
                if described:
                    lines = [plain(i.text) for i in items]
                target.goal = (target.goal + "\n" + "\n".join(lines)).strip()
            else:
                for item in items:
                    target.items.append(
                        PlanItem(plain(item.text), item.line, section=plain(section.title))
                    )
            self.used.add(id(items))
            return
        kind = label.lower()
        if phase is None and kind == "success criteria":
            where = plain(section.title)
            overview = re.search(r"summary|overview|solution", where, re.IGNORECASE)
            if overview:
                self.plan.overview.setdefault(
                    "success_criteria", "; ".join(plain(i.text) for i in items)
                )
            self._add_gate(
                PlanGate(
                    name="Release go/no-go" if overview else f"{where} go/no-go",
                    derived=True,
                    kind="go_no_go",
                    line=items[0].line if items else section.line,
                    criteria=[PlanCriterion(plain(item.text), item.line) for item in items],
                    blocks=[id(items)],
                )
            )
            self.used.add(id(items))
            return
        if phase is None or kind not in ("tasks", "tests", "checklist", "deliverables", "steps"):
            return
        name = plain(section.title)
        group = name if kind in ("tasks", "steps", "checklist") else f"{name}: {label}"
        for item in items:
            title = reader.labelled(item.text)
            text = title[0] if title and not title[1] else plain(item.text)
            phase.items.append(
                PlanItem(
                    text,
                    item.line,
                    done=bool(item.checked),
                    section=group,
                    kind="deliverable" if kind == "deliverables" else "task",
                    detail=item.detail,
                )
            )
        self.used.add(id(items))

    def _phase_by_label(self, label: str) -> PlanPhase | None:
        match = PHASE_TITLE.match(plain(label))
        key = (match.group(2) or "").upper() if match else ""
        return self.phase_by_key.get(key) if key else None

    def _enclosing_phase(self, section: Section) -> PlanPhase | None:
        return getattr(section, "enclosing_phase", None)

    def _paragraph(self, block: Paragraph, section: Section, phase: PlanPhase | None) -> None:
        """A labelled paragraph ('**Owner:** Backend Lead'); one label a line when each of
        its lines starts with one ('**Status:** …' / '**Date:** …')."""
        lines = [line.strip() for line in block.text.splitlines() if line.strip()]
        pairs = [reader.labelled(line) for line in lines]
        if len(lines) < 2 or not all(pairs):
            pairs = [reader.labelled(block.text)]
        understood = [self._labelled_line(pair, block, section, phase) for pair in pairs if pair]
        if understood and all(understood):
            self.used.add(id(block))

    def _labelled_line(self, pair, block: Paragraph, section: Section, phase) -> bool:
        label, value = pair[0].lower(), plain(pair[1])
        if phase is None and label in OVERVIEW_LABELS and value:
            self.plan.overview.setdefault(OVERVIEW_LABELS[label], value)
            return True
        if label == "approval gate" and value and phase is not None:
            step = re.match(r"[A-Z]?\d+\b", plain(section.title))  # "D1: Observability"
            self.plan.gates.append(
                PlanGate(
                    name=f"{plain(section.title)}: {value}",
                    kind="phase_exit",
                    line=block.line,
                    timing=f"After {step.group(0)}" if step else "",
                    description=value,
                    criteria=[PlanCriterion(value, block.line)],
                    blocks=[id(block)],
                    inline=True,
                )
            )
            return True
        return False

    def _list(self, items: list[ListItem], section: Section, phase, title: str) -> None:
        if any(item.checked is not None for item in items):
            self._checked_list(items, section, phase, title)
            return
        if phase is not None and re.fullmatch(r"(?:objectives?|goals?|aims?)\W*", title):
            lines = [
                f"{n}. {plain(i.text)}" if i.ordered else f"- {plain(i.text)}"
                for n, i in enumerate(items, 1)
            ]
            phase.goal = "\n".join(filter(None, [*lines, phase.goal]))
            self.used.add(id(items))
            return
        if phase is None and "dependenc" in title:
            # External dependencies: things to have in hand before the work needs them.
            first = self.plan.phases[0] if self.plan.phases else self._phase_named(title, 0)
            for item in items:
                first.items.append(
                    PlanItem(plain(item.text), item.line, section="External dependencies")
                )
            self.used.add(id(items))
            return
        recognised = False
        for item in items:
            pair = reader.labelled(item.text)
            if pair:
                recognised |= self._labelled_item(pair, item, section, phase, title)
            elif "risk" in title and self._prose_risk(item):
                recognised = True
            elif self._kpi_heading(title) and phase is None:
                self._kpi_line(item, title)
                recognised = True
        if recognised:
            self.used.add(id(items))

    def _labelled_item(self, pair, item: ListItem, section: Section, phase, title: str) -> bool:
        label, raw = pair[0].lower(), pair[1]
        value = plain(raw)
        if phase is not None and label in PHASE_LABELS:
            self._phase_field(phase, PHASE_LABELS[label], value, item)
        elif label in OVERVIEW_LABELS and phase is None:
            self.plan.overview.setdefault(OVERVIEW_LABELS[label], value)
        elif label == "success criteria" and phase is None:
            self.plan.overview.setdefault("success_criteria", value)
            self._release_gate(value, item.line)
        elif label == "risk assessment":
            for child in item.children:
                self._arrow_risk(child)
        else:
            return False
        return True

    def _phase_field(self, phase: PlanPhase, field_name: str, value: str, item: ListItem) -> None:
        parts = [part.strip() for part in re.split(r";\s*", value) if part.strip()]
        if field_name == "deliverables":
            phase.deliverables.extend(parts)
            for part in parts:
                phase.items.append(
                    PlanItem(part, item.line, section="Deliverables", kind="deliverable")
                )
        elif field_name == "success_criteria":
            phase.success_criteria.extend(parts)
        elif field_name == "resources":
            phase.resources = value
        elif field_name == "owners":
            phase.owners = value
        elif field_name == "goal":
            phase.goal = value

    def _checked_list(self, items: list[ListItem], section: Section, phase, title: str) -> None:
        """A checklist: its items go to the phase whose section holds it, or make the criteria
        of a sign-off gate when the section is a sign-off or approval."""
        self.used.add(id(items))
        if re.search(r"sign-?off|approv|validation", title) or re.search(
            r"sign-?off|approv|validation", _key(self._parent_title(section))
        ):
            self._signoff(items, section)
            return
        named = self._phase_by_label(plain(section.title))
        if "success criteria" in title and (named or phase):
            target = named or phase
            target.success_criteria.extend(plain(item.text) for item in items)
            return
        group = "" if phase is not None else plain(section.title)
        if phase is None:
            # A checklist outside the phases makes a stage of its own, named after the part
            # of the plan that holds it ("Production Deployment Strategy", not its
            # "Pre-Deployment Checklist").
            stage = self._parent_title(section) if section.level > 2 else ""
            phase = named or self._phase_named(plain(stage or section.title), section.line)
        if "dependenc" in title:
            # "Requires from Track D: ✅ …": the marks list what is needed, not what is done.
            items = [replace(item, checked=False) for item in items]
        self._checklist(items, phase, section=group)

    def _parent_title(self, section: Section) -> str:
        return getattr(section, "parent_title", "")

    def _phase_named(self, name: str, line: int) -> PlanPhase:
        phase = self.phase_by_key.get(_key(name))
        if phase is None:
            phase = PlanPhase(order=len(self.plan.phases) + 1, name=name, line=line)
            self.plan.phases.append(phase)
            self.phase_by_key[_key(name)] = phase
        return phase

    def _checklist(self, items: list[ListItem], phase: PlanPhase, section: str) -> None:
        for item in items:
            text = plain(item.text)
            if any(child.checked is not None for child in item.children):
                # A line with checklist sub-items names a group ("Week 1-2: Schema design"):
                # its children are the items, in a section named after it.
                self._checklist(item.children, phase, section=text)
                continue
            phase.items.append(
                PlanItem(
                    text, item.line, done=bool(item.checked), section=section, detail=item.detail
                )
            )

    def _signoff(self, items: list[ListItem], section: Section) -> None:
        title = plain(section.title).rstrip(" ✓✅")
        gate = self._signoff_gate(section)
        for item in items:
            text = plain(item.text)
            approver = reader.labelled(item.text)
            if approver and re.fullmatch(r"[\w .&/+-]{2,40}", approver[0]):
                gate.approvers.append(approver[0])
            else:
                gate.criteria.append(
                    PlanCriterion(
                        f"{title}: {text}" if title else text, item.line, bool(item.checked)
                    )
                )

    def _signoff_gate(self, section: Section) -> PlanGate:
        for gate in self.plan.gates:
            if gate.kind == "go_no_go" and gate.name == "Plan sign-off":
                return gate
        gate = PlanGate(name="Plan sign-off", kind="go_no_go", line=section.line)
        self.plan.gates.append(gate)
        return gate

    # -- risks -----------------------------------------------------------------------------
    def _prose_risk(self, item: ListItem) -> bool:
        text = plain(item.text)
        match = PROSE_RISK.match(text)
        if not match:
            return self._arrow_risk(item)
        likelihood, impact = _level_of(match.group("l")), _level_of(match.group("i"))
        if likelihood is None or impact is None:
            self.plan.unrecognised.append(
                Unrecognised(item.line, text, "the likelihood or impact is not a level")
            )
            return True
        self._add_risk(PlanRisk(match.group("title").strip(), item.line, likelihood, impact))
        return True

    def _arrow_risk(self, item: ListItem) -> bool:
        match = ARROW_MITIGATION.match(plain(item.text))
        if not match:
            return False
        self._add_risk(
            PlanRisk(
                match.group("title").strip(),
                item.line,
                levels_stated=False,
                mitigation=match.group("m").strip(),
            )
        )
        return True

    def _add_risk(self, risk: PlanRisk) -> None:
        for known in self.plan.risks:
            if _same_risk(known, risk):
                known.mitigation = known.mitigation or risk.mitigation
                if risk.levels_stated and not known.levels_stated:
                    known.title, known.line = risk.title, risk.line  # the matrix names it
                    known.likelihood, known.impact, known.levels_stated = (
                        risk.likelihood,
                        risk.impact,
                        True,
                    )
                return
        self.plan.risks.append(risk)

    # -- tables ----------------------------------------------------------------------------
    def _table(self, table: Table, section: Section, phase) -> None:
        header = [_key(cell) for cell in table.header]
        self.used.add(id(table))
        if any(word in cell for cell in header for word in LIKELIHOOD_WORDS) or (
            header and "risk" in header[0]
        ):
            self._risk_table(table, header, section)
        elif (
            header
            and any("gate" in cell for cell in header)
            and any("approver" in cell for cell in header)
        ):
            self._gate_table(table, header)
        elif header and re.search(r"metric|kpi|indicator", header[0]):
            self._kpi_table(table, header, _key(section.title))
        else:
            self.used.discard(id(table))

    def _column(self, header: list[str], *words: str) -> int | None:
        for index, cell in enumerate(header):
            if any(word in cell for word in words):
                return index
        return None

    def _cell(self, row: list[str], index: int | None) -> str:
        if index is None or index >= len(row):
            return ""
        return plain(row[index])

    def _risk_table(self, table: Table, header: list[str], section: Section) -> None:
        key_col = self._column(header, "risk id", "id")
        title_col = self._column(header, "description", "risk")
        if title_col == key_col:
            title_col = self._column(header[key_col + 1 :], "description", "risk")
            title_col = None if title_col is None else title_col + key_col + 1
        columns = {
            "likelihood": self._column(header, *LIKELIHOOD_WORDS),
            "impact": self._column(header, "impact"),
            "category": self._column(header, "category"),
            "mitigation": self._column(header, "mitigation"),
            "owner": self._column(header, "owner"),
        }
        # A table under "High Risk" states the rating once for all its rows.
        first_word = _key(section.title).split()[0] if section.title.strip() else ""
        rating = SECTION_RATINGS.get(first_word)
        for row, line in zip(table.rows, table.row_lines, strict=False):
            raw_title = row[title_col] if title_col is not None and title_col < len(row) else ""
            title, description = _title_and_description(raw_title)
            if not title:
                self.plan.unrecognised.append(
                    Unrecognised(line, " | ".join(row), "a risk row without a description")
                )
                continue
            likelihood = (
                _level_of(self._cell(row, columns["likelihood"]))
                if columns["likelihood"] is not None
                else None
            )
            impact = (
                _level_of(self._cell(row, columns["impact"]))
                if columns["impact"] is not None
                else None
            )
            stated = likelihood is not None and impact is not None
            if not stated and rating:
                likelihood, impact, stated = rating[0], rating[1], True
            self._add_risk(
                PlanRisk(
                    title=title,
                    line=line,
                    likelihood=likelihood or 3,
                    impact=impact or 3,
                    levels_stated=stated,
                    description=description,
                    category=self._cell(row, columns["category"]),
                    mitigation=_multiline(row[columns["mitigation"]])
                    if columns["mitigation"] is not None and columns["mitigation"] < len(row)
                    else "",
                    owner=self._cell(row, columns["owner"]),
                    key=self._cell(row, key_col) if key_col is not None else "",
                )
            )

    def _gate_table(self, table: Table, header: list[str]) -> None:
        self.gate_table_seen = True
        name_col = self._column(header, "gate")
        approver_col = self._column(header, "approver")
        timing_col = self._column(header, "timing", "when")
        criteria_col = self._column(header, "criteria", "criterion")
        kind_col = self._column(header, "kind", "type")
        for row, line in zip(table.rows, table.row_lines, strict=False):
            name = self._cell(row, name_col)
            if not name:
                continue
            raw = row[criteria_col] if criteria_col is not None and criteria_col < len(row) else ""
            if reader.BREAK.search(raw):  # one criterion a line
                parts = [plain(part) for part in reader.BREAK.split(raw)]
            else:
                parts = re.split(r"\s+\+\s+|,\s+", plain(raw))
            kind = _gate_kind(self._cell(row, kind_col))
            percent = PERCENT.search(self._cell(row, kind_col)) if kind == "rollout_stage" else None
            self._add_gate(
                PlanGate(
                    name=name,
                    kind=kind,
                    line=line,
                    approvers=[
                        a.strip()
                        for a in re.split(r"\s*\+\s*|\s*,\s*", self._cell(row, approver_col))
                        if a.strip()
                    ],
                    timing=self._cell(row, timing_col),
                    criteria=[PlanCriterion(part, line) for part in parts if part.strip()],
                    rollout_percent=int(percent.group(1)) if percent else None,
                )
            )

    def _kpi_heading(self, title: str) -> bool:
        return bool(re.search(r"kpi|metric|indicator", title))

    def _kind_and_category(self, title: str) -> tuple[str, str]:
        kind = "leading" if "leading" in title else "counter" if "counter" in title else "lagging"
        category = (
            "business" if "business" in title else "project" if "project" in title else "technical"
        )
        return kind, category

    def _kpi_line(self, item: ListItem, title: str, numeric_only: bool = False) -> bool:
        line = reader.plain(item.text)
        split = split_kpi_line(line)
        if numeric_only and split.target is None:
            return False
        kind, category = self._kind_and_category(title)
        self.plan.kpis.append(
            PlanKPI(
                name=split.name,
                line=item.line,
                kind=kind,
                category=category,
                target_text=line,
                target=split.target,
            )
        )
        return True

    def _kpi_table(self, table: Table, header: list[str], title: str) -> None:
        kind, category = self._kind_and_category(title)
        columns = {
            "baseline": self._column(header, "baseline"),
            "target": self._column(header, "target", "threshold"),
            "method": self._column(header, "method", "why"),
            "cadence": self._column(header, "cadence", "frequency"),
            "owner": self._column(header, "owner"),
            "category": self._column(header, "category"),
            "unit": self._column(header, "unit"),
        }
        for row, line in zip(table.rows, table.row_lines, strict=False):
            name = self._cell(row, 0)
            if not name:
                continue
            stated_category = self._cell(row, columns["category"]).lower()
            if stated_category in ("technical", "business", "project"):
                category = stated_category
            target_text = self._cell(row, columns["target"])
            self.plan.kpis.append(
                PlanKPI(
                    name=name,
                    line=line,
                    kind=kind,
                    category=category,
                    baseline_text=self._cell(row, columns["baseline"]),
                    target_text=target_text,
                    target=parse_target(target_text),
                    method=self._cell(row, columns["method"]),
                    cadence_text=self._cell(row, columns["cadence"]),
                    owner=self._cell(row, columns["owner"]),
                    unit=self._cell(row, columns["unit"]),
                )
            )

    # -- gates from success criteria and rollouts ------------------------------------------
    def _add_gate(self, gate: PlanGate) -> None:
        """A gate the plan names twice (a table row and a success-criteria list) is one."""
        if any(_key(known.name) == _key(gate.name) for known in self.plan.gates):
            return
        self.plan.gates.append(gate)

    def _release_gate(self, value: str, line: int) -> None:
        parts = [part.strip() for part in re.split(r";\s*", value) if part.strip()]
        self._add_gate(
            PlanGate(
                name="Release go/no-go",
                kind="go_no_go",
                line=line,
                derived=True,
                criteria=[PlanCriterion(part, line) for part in parts],
            )
        )

    def _rollout_stages(self, root: Section) -> None:
        """Staged rollout percentages ("5% → 25% → 50% → 100%") anywhere in the plan become one
        rollout-stage gate per stage; a rollback rule ("Rollback if error rate > 1%") becomes
        each stage's rollback criterion."""
        stages, rollback, line = None, None, 0
        for section in root.walk():
            for text, at in _texts(section):
                match = ROLLOUT.search(text)
                if match and stages is None:
                    stages = [int(p) for p in PERCENT.findall(match.group(0))]
                    line = at
                rule = ROLLBACK.search(text)
                if rule and rollback is None:
                    rollback = (rule.group(1) or rule.group(2)).strip().rstrip(".")
        if not stages or self.gate_table_seen:
            return
        for percent in stages:
            criteria = [PlanCriterion(f"Rollback if {rollback}", line)] if rollback else []
            self.plan.gates.append(
                PlanGate(
                    name=f"Rollout stage: {percent}% of traffic",
                    kind="rollout_stage",
                    derived=True,
                    line=line,
                    rollout_percent=percent,
                    criteria=criteria,
                )
            )

    def _inline_gates_into_table(self) -> None:
        """An "Approval Gate: …" line after a step (D1) restates the table's gate for that step
        ("After D1", "Before D1"): it becomes that gate's description. One the table lacks
        stays a note."""
        table = [gate for gate in self.plan.gates if not gate.inline]
        for inline in (gate for gate in self.plan.gates if gate.inline):
            match = next(
                (
                    gate
                    for gate in table
                    if _step(inline.timing) and _step(gate.timing) == _step(inline.timing)
                ),
                None,
            )
            if match is None:
                self.used -= set(inline.blocks)
                continue
            match.description = "\n".join(filter(None, [match.description, inline.description]))
        self.plan.gates = table

    def _gates_from_criteria(self) -> None:
        """Phases with success criteria get an exit gate that judges them (unless the plan has
        its own approval gates as well)."""
        exits = []
        for phase in self.plan.phases:
            if phase.success_criteria:
                exits.append(
                    PlanGate(
                        name=f"Phase {phase.order} exit: {phase.name}",
                        kind="phase_exit",
                        line=phase.line,
                        derived=True,
                        criteria=[
                            PlanCriterion(text, phase.line) for text in phase.success_criteria
                        ],
                    )
                )
        known = {_key(gate.name) for gate in self.plan.gates}
        self.plan.gates[:0] = [gate for gate in exits if _key(gate.name) not in known]

    # -- what is left ----------------------------------------------------------------------
    def _leftovers(self, root: Section) -> None:
        # A label that announced a list ("**Tasks:**") went wherever its list went.
        self.used |= {label for items, label in self.label_of.items() if items in self.used}
        for section in root.walk():
            unused = [block for block in section.blocks if id(block) not in self.used]
            if not unused:
                continue
            text = "\n\n".join(_block_text(block) for block in unused).strip()
            if text:
                self.plan.notes.append(Note(plain(section.title) or "Preamble", section.line, text))


GENERIC_WORDS = {
    "issues",
    "issue",
    "problems",
    "risk",
    "risks",
    "with",
    "from",
    "between",
    "during",
    "delays",
    "the",
    "and",
    "for",
    "existing",
    "due",
}


def _content_words(title: str) -> set[str]:
    return {
        word for word in re.findall(r"[a-z0-9/]+", title.lower()) if len(word) > 2
    } - GENERIC_WORDS


def _same_risk(known: PlanRisk, new: PlanRisk) -> bool:
    """The same title; or, where one of the two states no levels (a plan that lists its risks
    twice, once with mitigations and once in a matrix), nearly the same words."""
    if _key(known.title) == _key(new.title):
        return True
    if known.levels_stated and new.levels_stated:
        return False
    a, b = _content_words(known.title), _content_words(new.title)
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= 0.75


def _title_and_description(cell: str) -> tuple[str, str]:
    """'**Data loss** - Migration script drops records' → ('Data loss', 'Migration …')."""
    bold = re.match(r"^\s*\*\*(.+?)\*\*\s*(?:[-–—:]\s*(.*))?$", cell, re.DOTALL)
    if bold:
        return plain(bold.group(1)), plain(bold.group(2) or "")
    return plain(cell), ""


PLAN_WORDS = re.compile(
    r"\s*[-–:]?\s*\b(?:migration|implementation|project)?\s*plan\b\s*[-–:]?\s*", re.I
)


def _document_name(root: Section) -> str:
    """The plan's name from its title ('# Sprint 8 - Implementation Plan' → 'Sprint 8'); a title
    in capitals defers to the subtitle under it."""
    for section in root.walk():
        if section.level != 1 or not re.search(r"\bplan\b", section.title, re.I):
            continue
        name = PLAN_WORDS.sub(" ", plain(section.title)).strip(" :-–")
        subtitle = section.children[0].title if section.children else ""
        if (not name or name.isupper()) and subtitle:
            return plain(subtitle)
        if name:
            return name
    titled = next((s for s in root.walk() if s.level), None)
    return plain(titled.title) if titled else "Imported plan"


def _timing_words(title: str, span: Span | None) -> str:
    """The phase's timing as its heading writes it: the parenthesis holding the span ("After
    Day 10"), else the span's own words."""
    if span is None:
        return ""
    for words in re.findall(r"\(([^)]*)\)", title):
        if span.text in words:
            return words.strip()
    return span.text


def _texts(section: Section):
    """(text, line) of every paragraph, list item and table cell of the section."""
    for block in section.blocks:
        if isinstance(block, Paragraph):
            yield block.text, block.line
        elif isinstance(block, Table):
            for row, line in zip(block.rows, block.row_lines, strict=False):
                for cell in row:
                    for piece in reader.BREAK.split(cell):
                        yield piece, line
        elif isinstance(block, list):
            yield from _item_texts(block)


def _item_texts(items: list[ListItem]):
    for item in items:
        yield item.text, item.line
        yield from _item_texts(item.children)


def _multiline(cell: str) -> str:
    return "\n".join(line.strip() for line in reader.BREAK.split(cell) if line.strip())


def _block_text(block) -> str:
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, Table):
        rows = [block.header, *block.rows]
        return "\n".join("| " + " | ".join(row) + " |" for row in rows)
    if isinstance(block, CodeBlock):
        return f"```{block.info}\n{block.text}```"
    if isinstance(block, list):
        return "\n".join(_item_text(item, 0) for item in block)
    return ""


def _item_text(item: ListItem, depth: int) -> str:
    box = "" if item.checked is None else ("[x] " if item.checked else "[ ] ")
    lines = ["  " * depth + "- " + box + item.text]
    lines += ["  " * (depth + 1) + paragraph for paragraph in item.paragraphs]
    lines += [_item_text(child, depth + 1) for child in item.children]
    return "\n".join(lines)


def recognise(root: Section) -> ImportedPlan:
    return _Recogniser().run(root)


def _inherit_phase(section: Section, phase) -> None:
    """Every section below a phase's heading belongs to that phase; each knows its parent's
    title."""
    own = getattr(section, "phase", None) or phase
    if own is not None and getattr(section, "phase", None) is None:
        section.enclosing_phase = own
    for child in section.children:
        child.parent_title = section.title
        _inherit_phase(child, own)
