"""Red / amber / green for a project: the status rules, applied here and nowhere else.

`project_status(facts)` judges the facts a selector gathered (variance, KPI states, open risks,
gate decisions) by the rules in `RULES`, with the thresholds of `settings.RAG_RULES`. Every
rating carries the reasons that made it, in words; the help page lists `RULES` as they stand.
"""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from gates.facts import GateFact
from metrics.facts import KPIFact
from projects.variance import RAG, ProjectVariance, worst
from risks.facts import RiskFact


@dataclass(frozen=True)
class Rule:
    key: str
    rag: RAG
    summary: str  # with {placeholders} from settings.RAG_RULES

    def describe(self) -> str:
        limits = settings.RAG_RULES
        return self.summary.format(
            **limits,
            schedule_red_weeks=_weeks_text(limits["schedule_red_days"]),
            schedule_amber_weeks=_weeks_text(limits["schedule_amber_days"]),
        )


RULES = [
    Rule(
        "schedule_red",
        RAG.RED,
        "The forecast end lies {schedule_red_weeks} or more past the baseline end.",
    ),
    Rule(
        "budget_red",
        RAG.RED,
        "The forecast at completion is {budget_red_percent:g}% or more over the planned budget.",
    ),
    Rule(
        "critical_kpi_breached",
        RAG.RED,
        "A critical KPI is breached: its latest value misses its target.",
    ),
    Rule(
        "critical_risk_overdue",
        RAG.RED,
        "A critical risk is unresolved and its review date has passed.",
    ),
    Rule("gate_no_go", RAG.RED, "The latest gate decision is NO-GO."),
    Rule("rollback", RAG.RED, "A rollout stage recommends rollback: a rollback trigger fired."),
    Rule(
        "schedule_amber",
        RAG.AMBER,
        "The forecast end lies {schedule_amber_weeks} or more past the baseline end.",
    ),
    Rule(
        "budget_amber",
        RAG.AMBER,
        "The forecast at completion is {budget_amber_percent:g}% or more over the planned budget.",
    ),
    Rule("kpi_breached", RAG.AMBER, "A KPI that is not critical is breached."),
    Rule(
        "critical_kpi_at_risk",
        RAG.AMBER,
        "A critical KPI is at risk (past its warning value, or not yet sustained for long "
        "enough) or has no fresh data.",
    ),
    Rule(
        "critical_risk_open",
        RAG.AMBER,
        "A critical risk is unresolved (still within its review date), or a high risk's review "
        "date has passed.",
    ),
    Rule("gate_conditional", RAG.AMBER, "The latest gate decision is CONDITIONAL GO."),
    Rule("gate_overdue", RAG.AMBER, "A gate open for sign-off is past its due date."),
    Rule(
        "gate_overridden",
        RAG.AMBER,
        "A gate was approved against a NO-GO or INCONCLUSIVE recommendation.",
    ),
    Rule(
        "rollback_unjudged",
        RAG.AMBER,
        "A live rollout stage's rollback triggers cannot be judged: no fresh value.",
    ),
    Rule(
        "condition_overdue",
        RAG.AMBER,
        "A condition of a CONDITIONAL GO is past its due date and not met.",
    ),
    Rule(
        "approval_stale",
        RAG.AMBER,
        "A gate's approval went stale: within its watch window a KPI it was judged on breached, "
        "or a linked risk rose to a higher band, and no re-approval round has decided it again.",
    ),
]
RULES_BY_KEY = {rule.key: rule for rule in RULES}


def _weeks_text(days: int) -> str:
    if days % 7 == 0 and days >= 7:
        weeks = days // 7
        return f"{weeks} week{'s' if weeks != 1 else ''} ({days} days)"
    return f"{days} day{'s' if days != 1 else ''}"


@dataclass(frozen=True)
class StatusFacts:
    """What the rules judge, for one project. Selectors gather it in a constant number of
    queries for any number of projects."""

    variance: ProjectVariance
    kpis: list[KPIFact] = field(default_factory=list)  # breached, at risk or critical only
    risks: list[RiskFact] = field(default_factory=list)  # unresolved high and critical only
    gates: list[GateFact] = field(default_factory=list)


@dataclass(frozen=True)
class Reason:
    rule: str
    rag: RAG
    text: str


@dataclass(frozen=True)
class Rating:
    rag: RAG
    reasons: list[Reason]

    @property
    def summary(self) -> str:
        """The reasons that set the rating, in one line."""
        if not self.reasons:
            return "All status rules pass."
        deciding = [reason.text for reason in self.reasons if reason.rag == self.rag]
        return "; ".join(deciding) + "."


def project_status(facts: StatusFacts, *, today: date) -> Rating:
    """The project's RAG and every reason for it, worst first."""
    reasons = [
        *_schedule_reasons(facts.variance),
        *_budget_reasons(facts.variance),
        *_kpi_reasons(facts.kpis),
        *_risk_reasons(facts.risks, today),
        *_gate_reasons(facts.gates, today),
    ]
    order = [RAG.RED, RAG.AMBER]
    reasons.sort(key=lambda reason: order.index(reason.rag))
    rag = worst(*(reason.rag for reason in reasons)) if reasons else RAG.GREEN
    return Rating(rag=rag, reasons=reasons)


def _reason(rule: str, text: str) -> Reason:
    return Reason(rule, RULES_BY_KEY[rule].rag, text)


def _schedule_reasons(variance: ProjectVariance) -> list[Reason]:
    schedule = variance.schedule
    if schedule.rag not in (RAG.RED, RAG.AMBER):
        return []
    text = f"Schedule {schedule}" + (f" ({schedule.days} days)" if schedule.days >= 7 else "")
    return [_reason("schedule_red" if schedule.rag == RAG.RED else "schedule_amber", text)]


def _budget_reasons(variance: ProjectVariance) -> list[Reason]:
    budget = variance.budget
    if budget.rag not in (RAG.RED, RAG.AMBER):
        return []
    text = f"Forecast {budget}"
    if budget.forecast_at_completion is not None:
        text += f" ({budget.forecast_at_completion:,.0f} against {budget.planned:,.0f} planned)"
    return [_reason("budget_red" if budget.rag == RAG.RED else "budget_amber", text)]


def _names(items) -> str:
    names = [item.name for item in items]
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _kpi_reasons(kpis: list[KPIFact]) -> list[Reason]:
    reasons = []
    critical_breached = [k for k in kpis if k.critical and k.status == "breached"]
    if critical_breached:
        reasons.append(
            _reason("critical_kpi_breached", f"Critical KPI breached: {_names(critical_breached)}")
        )
    other_breached = [k for k in kpis if not k.critical and k.status == "breached"]
    if other_breached:
        reasons.append(_reason("kpi_breached", f"KPI breached: {_names(other_breached)}"))
    at_risk = [k for k in kpis if k.critical and k.status == "warning"]
    if at_risk:
        reasons.append(_reason("critical_kpi_at_risk", f"Critical KPI at risk: {_names(at_risk)}"))
    stale = [k for k in kpis if k.critical and k.status == "stale"]
    if stale:
        reasons.append(
            _reason("critical_kpi_at_risk", f"Critical KPI without fresh data: {_names(stale)}")
        )
    return reasons


def _day(value) -> str:
    """A day as the reasons write it ("15 Nov"); formatted only for a reason that is given."""
    return date_format(value, "j M")


def _risk_label(risk: RiskFact) -> str:
    return f"{risk.key} {risk.title}"


def _risk_reasons(risks: list[RiskFact], today: date) -> list[Reason]:
    reasons = []
    for risk in risks:
        overdue = risk.review_by is not None and risk.review_by < today
        if risk.band == "critical" and overdue:
            reasons.append(
                _reason(
                    "critical_risk_overdue",
                    f"Critical risk {_risk_label(risk)} open past its review "
                    f"({_day(risk.review_by)})",
                )
            )
        elif risk.band == "critical":
            reasons.append(_reason("critical_risk_open", f"Critical risk {_risk_label(risk)} open"))
        elif risk.band == "high" and overdue:
            reasons.append(
                _reason(
                    "critical_risk_open",
                    f"High risk {_risk_label(risk)} past its review ({_day(risk.review_by)})",
                )
            )
    return reasons


def _gate_reasons(gates: list[GateFact], today: date) -> list[Reason]:
    reasons = []
    for gate in gates:
        if gate.rollback_recommended_at and gate.state != "cancelled":
            why = f": {gate.rollback_reason}" if gate.rollback_reason else ""
            reasons.append(_reason("rollback", f"Rollback recommended at {gate.name}{why}"))
        if gate.rollback_unjudged and gate.state != "cancelled":
            reasons.append(
                _reason(
                    "rollback_unjudged",
                    f"Rollback triggers at {gate.name} cannot be judged: {gate.rollback_unjudged}",
                )
            )
        if gate.overridden_recommendation:
            reasons.append(
                _reason(
                    "gate_overridden",
                    f"{gate.name} was approved against the "
                    f"{gate.overridden_recommendation_label} recommendation",
                )
            )
    decided = [gate for gate in gates if gate.state == "decided" and gate.decided_at]
    if decided:
        latest = max(decided, key=lambda gate: gate.decided_at)
        if latest.decision == "no_go":
            on = _day(latest.decided_at)
            reasons.append(_reason("gate_no_go", f"{latest.name} decided NO-GO on {on}"))
        elif latest.decision == "conditional_go":
            on = _day(latest.decided_at)
            reasons.append(
                _reason("gate_conditional", f"{latest.name} decided CONDITIONAL GO on {on}")
            )
    for gate in gates:
        if gate.state == "open" and gate.due_date and gate.due_date < today:
            due = _day(gate.due_date)
            reasons.append(_reason("gate_overdue", f"{gate.name} awaits sign-off since {due}"))
    for gate in gates:
        if gate.conditions_overdue:
            count = gate.conditions_overdue
            what = "condition" if count == 1 else "conditions"
            reasons.append(_reason("condition_overdue", f"{count} {what} of {gate.name} overdue"))
    for gate in gates:
        if gate.approval_stale_at and not gate.reapproved:
            reasons.append(
                _reason(
                    "approval_stale",
                    f"The approval of {gate.name} went stale on "
                    f"{_day(timezone.localdate(gate.approval_stale_at))}: "
                    f"{gate.approval_stale_reasons}",
                )
            )
    return reasons
