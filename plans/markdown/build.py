"""An imported plan made into a tracked project, in one transaction; and the import report."""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from gates.models import CriterionKind, Gate, GateApprover, GateCriterion, GateKind
from metrics.models import KPI
from plans.markdown import reader
from plans.markdown.recognise import ImportedPlan, recognise
from projects.models import ChecklistItem, Phase, Programme, Project, ProjectStatus, Role
from risks import services as risk_services
from risks.models import RiskCategory

MONEY = re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)\s*(k|m)?\b", re.IGNORECASE)
CODE_IN_NAME = re.compile(r"\(([A-Z][A-Z0-9-]{1,19})\)")


class PlanNotImported(ValueError):
    """The plan cannot become a project; the message says why."""


def plan_read(data: bytes | str) -> ImportedPlan:
    """Decode, parse and recognise a plan. NotAPlan for what cannot be read at all."""
    return recognise(reader.read(reader.decode(data)))


def import_report(plan: ImportedPlan) -> dict:
    """What was recognised, item by item with its line, and what was not (and why)."""
    return {
        **plan.counts(),
        "overview": plan.overview,
        "items": {
            "phases": [
                {"line": p.line, "name": p.name, "timing": p.timing, "items": len(p.items)}
                for p in plan.phases
            ],
            "checklist_items": [
                {"line": i.line, "title": i.title, "done": i.done, "section": i.section}
                for i in plan.checklist_items
            ],
            "risks": [
                {
                    "line": r.line,
                    "title": r.title,
                    "likelihood": r.likelihood,
                    "impact": r.impact,
                    "levels_stated": r.levels_stated,
                }
                for r in plan.risks
            ],
            "kpis": [
                {
                    "line": k.line,
                    "name": k.name,
                    "target": k.target_text,
                    "comparator": k.target.comparator if k.target else None,
                    "value": k.target.value if k.target else None,
                    "unit": k.target.unit if k.target else "",
                }
                for k in plan.kpis
            ],
            "gates": [
                {"line": g.line, "name": g.name, "kind": g.kind, "criteria": len(g.criteria)}
                for g in plan.gates
            ],
        },
        "notes": [{"line": n.line, "title": n.title} for n in plan.notes],
        "unrecognised": [
            {"line": u.line, "text": u.text[:200], "why": u.why} for u in plan.unrecognised
        ]
        + [
            {
                "line": r.line,
                "text": r.title,
                "why": "likelihood and impact not stated: set to 3 × 3",
            }
            for r in plan.risks
            if not r.levels_stated
        ],
    }


@dataclass(frozen=True)
class ImportOptions:
    programme: Programme
    start_date: date
    code: str = ""
    by: object = None


def plan_import(*, plan: ImportedPlan, options: ImportOptions) -> Project:
    """Create the project with its phases, checklists, risks, KPIs and gates: all of it, or
    (on any error, raised as PlanNotImported with the reason) nothing."""
    try:
        return _import(plan, options)
    except ValidationError as error:
        reasons = (
            "; ".join(
                f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                for field, messages in error.message_dict.items()
            )
            if hasattr(error, "error_dict")
            else " ".join(error.messages)
        )
        raise PlanNotImported(f"Nothing was imported: {reasons}") from error


@transaction.atomic
def _import(plan: ImportedPlan, options: ImportOptions) -> Project:
    project = _project(plan, options)
    phases = _phases(plan, project, options)
    for risk in plan.risks:
        risk_services.risk_create(
            project=project,
            by=options.by,
            key=risk.key if re.fullmatch(r"R\d+", risk.key or "") else "",
            reason="Imported from the plan.",
            title=risk.title[:300],
            description=risk.description,
            category=_risk_category(risk.category),
            likelihood=risk.likelihood,
            impact=risk.impact,
            mitigation=risk.mitigation,
            owner_title=risk.owner[:100],
        )
    kpis = {}
    for kpi in plan.kpis:
        kpis[kpi.name] = _kpi(project, kpi, kpis)
    _gates(plan, project, phases)
    return project


def _project(plan: ImportedPlan, options: ImportOptions) -> Project:
    overview = plan.overview
    name = overview.get("name") or "Imported plan"
    code = options.code or _code(name)
    if Project.objects.filter(programme=options.programme, code=code).exists():
        raise PlanNotImported(
            f"The programme already has a project {code}; choose another code for this one."
        )
    budget = MONEY.search(" ".join(n.text for n in plan.notes) + " " + " ".join(overview.values()))
    end = max((p.span.end_day for p in plan.phases if p.span), default=None)
    notes = "\n\n".join(
        note.text if note.verbatim else f"### {note.title}\n\n{note.text}" for note in plan.notes
    )
    project = Project(
        programme=options.programme,
        code=code,
        name=_strip_code(name)[:200],
        summary="\n".join(
            f"{label}{overview[key]}"
            for key, label in (
                ("summary", ""),
                ("status", "Status: "),
                ("timeline", "Timeline: "),
                ("scope", "Scope: "),
            )
            if overview.get(key)
        ),
        approach=overview.get("approach", ""),
        approach_rationale=overview.get("approach_rationale", ""),
        manager_name=overview.get("manager", "")[:200],
        stakeholders="\n".join(s.strip() for s in overview.get("stakeholders", "").split(",")),
        status=ProjectStatus.PLANNING,
        baseline_start=options.start_date,
        baseline_end=options.start_date + timedelta(days=end) if end is not None else None,
        target_delivery=options.start_date + timedelta(days=end) if end is not None else None,
        budget_planned=_money(budget) if budget else Decimal(0),
        notes=notes,
    )
    project.full_clean()
    project.save()
    return project


def _code(name: str) -> str:
    match = CODE_IN_NAME.search(name)
    if match:
        return match.group(1)
    words = [
        w for w in re.findall(r"[A-Za-z0-9]+", name) if w.lower() not in {"to", "the", "of", "and"}
    ]
    initials = "".join(w[0] for w in words[:6]).upper()
    return slugify(initials or name)[:20].upper() or "PLAN"


def _strip_code(name: str) -> str:
    return CODE_IN_NAME.sub("", name).strip() or name


def _money(match) -> Decimal:
    value = Decimal(match.group(1).replace(",", ""))
    scale = {"k": 1000, "m": 1_000_000}.get((match.group(2) or "").lower(), 1)
    return value * scale


def _phases(plan: ImportedPlan, project: Project, options: ImportOptions) -> dict[int, Phase]:
    """The phases with their checklists; items the plan marks done are done as of the import."""
    start, now = options.start_date, timezone.now()
    phases = {}
    for planned in plan.phases:
        span = planned.span
        phase = Phase(
            project=project,
            order=planned.order,
            name=planned.name[:200],
            timing=planned.timing[:100],
            goal=planned.goal,
            resource_needs=planned.resources,
            success_criteria="\n".join(planned.success_criteria),
            baseline_start=start + timedelta(days=span.start_day) if span else None,
            baseline_end=start + timedelta(days=span.end_day) if span else None,
        )
        phase.full_clean()
        phase.save()
        phases[planned.order] = phase
        for order, item in enumerate(planned.items, start=1):
            checklist_item = ChecklistItem(
                phase=phase,
                order=order,
                title=item.title[:300],
                detail=item.detail,
                section=item.section[:200],
                kind=item.kind,
                done=item.done,
                done_at=now if item.done else None,
                done_by=options.by if item.done else None,
            )
            checklist_item.full_clean()
            checklist_item.save()
    return phases


def _risk_category(text: str) -> str:
    key = text.strip().lower()
    for value, label in RiskCategory.choices:
        if key and (key == value or key == label.lower() or key.startswith(value[:5])):
            return value
    return RiskCategory.OTHER if key else RiskCategory.TECHNICAL


def _kpi(project: Project, planned, known: dict) -> KPI:
    name = planned.name[:200]
    if name in known:
        name = f"{name} ({len(known) + 1})"
    target = planned.target
    kpi = KPI(
        project=project,
        name=name,
        kind=planned.kind,
        category=planned.category,
        unit=(planned.unit or (target.unit if target else ""))[:30],
        baseline_text=planned.baseline_text[:200],
        comparator=target.comparator if target else None,
        target_value=target.value if target else None,
        target_text=planned.target_text[:300],
        method="\n".join(
            filter(
                None, [planned.method, planned.cadence_text and f"Cadence: {planned.cadence_text}"]
            )
        ),
        owner_title=planned.owner[:100],
    )
    kpi.full_clean()
    kpi.save()
    return kpi


def _gates(plan: ImportedPlan, project: Project, phases: dict[int, Phase]) -> None:
    names: set[str] = set()
    for order, planned in enumerate(plan.gates, start=1):
        name = planned.name[:200]
        while name in names:
            name = f"{name} ({order})"
        names.add(name)
        gate = Gate(
            project=project,
            order=order,
            name=name,
            kind=planned.kind,
            rollout_percent=planned.rollout_percent
            if planned.kind == GateKind.ROLLOUT_STAGE
            else None,
            timing=planned.timing[:100],
            description=planned.description,
        )
        gate.full_clean()
        gate.save()
        for title in planned.approvers:
            GateApprover.objects.create(gate=gate, title=title[:100], role=Role.APPROVER)
        for position, criterion in enumerate(planned.criteria, start=1):
            GateCriterion.objects.create(
                gate=gate,
                order=position,
                text=criterion.text[:500],
                kind=CriterionKind.MANUAL,
                critical=True,
                rollback=planned.kind == GateKind.ROLLOUT_STAGE,
            )
