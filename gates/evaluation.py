"""How a gate stands: each criterion judged on the evidence, and the recommendation the
plans' rule gives. Reads metrics (latest KPI values) and projects (checklists)."""

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Count, Q

from core.people import display_name
from gates.models import CriterionKind, Decision, Gate
from metrics import selectors as metric_selectors
from metrics.models import Comparator
from metrics.status import value_meets
from projects.models import ChecklistItem


class Result(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    CONDITIONAL = "conditional"  # past the threshold, within the conditional band
    UNKNOWN = "unknown"  # no value yet, or not attested yet


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: int
    text: str
    kind: str
    critical: bool
    result: Result
    evidence: str  # what the judgement rests on, as shown to approvers
    value: float | None = None


@dataclass(frozen=True)
class GateEvaluation:
    criteria: list[CriterionResult]

    @property
    def recommendation(self) -> str:
        """GO when every criterion holds; NO-GO when a critical one fails (or cannot be judged);
        CONDITIONAL GO when only non-critical ones fail, or a value sits in a conditional band."""
        problems = [c for c in self.criteria if c.result != Result.MET]
        if any(c.critical and c.result != Result.CONDITIONAL for c in problems):
            return Decision.NO_GO
        if problems:
            return Decision.CONDITIONAL_GO
        return Decision.GO


def evaluate_gate(gate: Gate) -> GateEvaluation:
    """Judge every criterion of `gate` now, in a constant number of queries."""
    criteria = list(gate.criteria.select_related("kpi", "phase").order_by("order", "pk"))
    kpi_ids = {c.kpi_id for c in criteria if c.kpi_id}
    latest = metric_selectors.kpi_latest_values(kpi_ids=kpi_ids)
    phase_ids = {c.phase_id for c in criteria if c.phase_id}
    progress = {
        row["phase_id"]: (row["done"], row["total"])
        for row in ChecklistItem.objects.filter(phase_id__in=phase_ids, deleted_at__isnull=True)
        .values("phase_id")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(done=True)))
    }
    results = []
    for criterion in criteria:
        base = {
            "criterion_id": criterion.pk,
            "text": criterion.text,
            "kind": criterion.kind,
            "critical": criterion.critical,
        }
        if criterion.kind == CriterionKind.KPI:
            if criterion.kpi_id not in latest:
                results.append(
                    CriterionResult(
                        **base,
                        result=Result.UNKNOWN,
                        evidence=f"{criterion.kpi.name}: no value yet",
                    )
                )
                continue
            at, value = latest[criterion.kpi_id]
            ok = value_meets(
                criterion.comparator, value, criterion.threshold, criterion.threshold_high
            )
            conditional = (
                not ok
                and criterion.conditional_limit is not None
                and criterion.comparator != Comparator.BETWEEN
                and value_meets(criterion.comparator, value, criterion.conditional_limit)
            )
            unit = f" {criterion.kpi.unit}" if criterion.kpi.unit else ""
            limit = f"{Comparator(criterion.comparator).label} {criterion.threshold:g}"
            if criterion.comparator == Comparator.BETWEEN:
                limit = f"between {criterion.threshold:g} and {criterion.threshold_high:g}"
            evidence = (
                f"{criterion.kpi.name} = {value:g}{unit} at {at:%Y-%m-%d %H:%M} UTC (needs {limit})"
            )
            result = Result.MET if ok else Result.CONDITIONAL if conditional else Result.NOT_MET
            if conditional:
                evidence += f"; within the conditional band up to {criterion.conditional_limit:g}"
            results.append(CriterionResult(**base, result=result, evidence=evidence, value=value))
        elif criterion.kind == CriterionKind.CHECKLIST:
            done, total = progress.get(criterion.phase_id, (0, 0))
            ok = total > 0 and done == total
            evidence = f"{criterion.phase.name}: {done} of {total} checklist items done"
            results.append(
                CriterionResult(
                    **base,
                    result=Result.MET if ok else Result.NOT_MET,
                    evidence=evidence,
                    value=float(done),
                )
            )
        else:
            if criterion.attested_at:
                who = display_name(criterion.attested_by)
                evidence = f"Attested by {who} at {criterion.attested_at:%Y-%m-%d %H:%M} UTC"
                results.append(CriterionResult(**base, result=Result.MET, evidence=evidence))
            else:
                results.append(
                    CriterionResult(**base, result=Result.UNKNOWN, evidence="Not attested yet")
                )
    return GateEvaluation(results)
