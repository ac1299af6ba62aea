"""How a gate stands: each criterion judged on the evidence, and the recommendation the
plans' rule gives. Reads metrics (latest KPI values) and projects (checklists)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from django.db.models import Count, Q
from django.utils import timezone

from core.people import display_name
from core.words import duration_words, moment_words
from gates.models import CriterionKind, Gate, Recommendation
from metrics import selectors as metric_selectors
from metrics.models import Comparator, target_words
from metrics.status import confirm_words, freshness_window, has_held, value_meets
from projects.models import ChecklistItem


class Result(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    CONDITIONAL = "conditional"  # past the threshold, within the conditional band
    INCONCLUSIVE = "inconclusive"  # no value, a value too old to judge, or not attested yet


RESULT_LABELS = {
    Result.MET: "Met",
    Result.NOT_MET: "Not met",
    Result.CONDITIONAL: "Conditional",
    Result.INCONCLUSIVE: "Inconclusive",
}


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: int
    text: str
    kind: str
    critical: bool
    result: Result
    evidence: str  # what the judgement rests on, in words, as shown to approvers
    value: float | None = None
    unit: str = ""
    measured_at: datetime | None = None
    source: str = ""  # where the value came from, in words
    # A KPI criterion's verdict has held as the KPI's confirm_readings / confirm_after ask;
    # until then the watches (rollback triggers, stale approvals) do not act on it.
    confirmed: bool = True

    @property
    def result_label(self) -> str:
        return RESULT_LABELS[self.result]


@dataclass(frozen=True)
class GateEvaluation:
    criteria: list[CriterionResult]

    @property
    def recommendation(self) -> Recommendation:
        """NO-GO when a critical criterion fails; INCONCLUSIVE when none fails but a critical
        one cannot be judged (a person must attest, or override); CONDITIONAL GO when only
        non-critical ones fail or cannot be judged, or a value sits in a conditional band; GO
        when every criterion holds."""
        problems = [c for c in self.criteria if c.result != Result.MET]
        critical = [c.result for c in problems if c.critical]
        if Result.NOT_MET in critical:
            return Recommendation.NO_GO
        if Result.INCONCLUSIVE in critical:
            return Recommendation.INCONCLUSIVE
        if problems:
            return Recommendation.CONDITIONAL_GO
        return Recommendation.GO


def condition_words(criterion) -> str:
    """A KPI criterion's condition in words: "at most 200", "between 1 and 5"."""
    return target_words(criterion.comparator, criterion.threshold, criterion.threshold_high)


def evaluate_gate(gate: Gate, *, now: datetime | None = None) -> GateEvaluation:
    """Judge every criterion of `gate` at `now` (default: now), in a constant number of
    queries. A KPI value older than the KPI's freshness window judges nothing. A KPI
    criterion is judged on the newest value; whether that verdict has held as the KPI's
    confirmation asks is `confirmed`, and said in its evidence when it has not."""
    now = now or timezone.now()
    criteria = list(gate.criteria.select_related("kpi", "phase").order_by("order", "pk"))
    readings = metric_selectors.kpi_latest_readings(
        kpis=[c.kpi for c in criteria if c.kpi_id], now=now
    )
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
            results.append(_judge_kpi(criterion, readings.get(criterion.kpi_id), base, now=now))
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
                    unit=f"of {total} items done",
                    source="Checklist",
                )
            )
        elif criterion.attested_at:
            who = display_name(criterion.attested_by)
            evidence = f"Attested by {who} at {moment_words(criterion.attested_at, UTC)}"
            results.append(
                CriterionResult(
                    **base,
                    result=Result.MET,
                    evidence=evidence,
                    measured_at=criterion.attested_at,
                    source=f"Attested by {who}",
                )
            )
        else:
            results.append(
                CriterionResult(**base, result=Result.INCONCLUSIVE, evidence="Not attested yet")
            )
    return GateEvaluation(results)


def _judge_kpi(criterion, reading, base: dict, *, now: datetime) -> CriterionResult:
    kpi = criterion.kpi
    needs = condition_words(criterion)
    if reading is None:
        return CriterionResult(
            **base,
            result=Result.INCONCLUSIVE,
            evidence=f"{kpi.name}: no value yet (needs {needs})",
            unit=kpi.unit,
        )
    unit = f" {kpi.unit}" if kpi.unit else ""
    measured = f"{kpi.name} = {reading.value:g}{unit} at {moment_words(reading.at, UTC)}"
    facts = {
        "value": reading.value,
        "unit": kpi.unit,
        "measured_at": reading.at,
        "source": reading.source,
    }
    if not reading.fresh:
        return CriterionResult(
            **base,
            **facts,
            result=Result.INCONCLUSIVE,
            evidence=f"{measured}: too old to judge (needs a value from the last "
            f"{duration_words(freshness_window(kpi))}; needs {needs})",
        )
    result = _verdict(criterion, reading.value)
    evidence = f"{measured} (needs {needs})"
    if result == Result.CONDITIONAL:
        evidence += f"; within the conditional band up to {criterion.conditional_limit:g}"
    held = 1
    for _, value in reading.earlier:
        if _verdict(criterion, value) != result:
            break
        held += 1
    since = reading.earlier[held - 2][0] if held > 1 else reading.at
    # Every value the KPI has agrees (fewer than confirming takes): the first data, which
    # judges at once, as it does the KPI's status.
    first_data = held == len(reading.earlier) + 1 < kpi.confirm_readings
    confirmed = first_data or has_held(kpi, held=held, since=since, now=now)
    if not confirmed:
        evidence += (
            f"; not yet confirmed: it counts once it holds for {confirm_words(kpi)} ({held} so far)"
        )
    return CriterionResult(**base, **facts, result=result, evidence=evidence, confirmed=confirmed)


def _verdict(criterion, value: float) -> Result:
    """A KPI criterion's verdict on one value: met, within its conditional band, or not met."""
    if value_meets(criterion.comparator, value, criterion.threshold, criterion.threshold_high):
        return Result.MET
    if (
        criterion.conditional_limit is not None
        and criterion.comparator != Comparator.BETWEEN
        and value_meets(criterion.comparator, value, criterion.conditional_limit)
    ):
        return Result.CONDITIONAL
    return Result.NOT_MET
