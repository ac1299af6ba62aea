from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboards.status import RULES, StatusFacts, project_status
from gates.facts import GateFact
from metrics.facts import KPIFact
from projects.variance import RAG, project_variance
from risks.facts import RiskFact

TODAY = date(2026, 11, 23)


class _Project:
    def __init__(self, *, slip_days=0, planned=10000, spent=5000):
        self.baseline_end = date(2027, 3, 1)
        self.target_delivery = self.baseline_end
        self.forecast_end = self.baseline_end + timedelta(days=slip_days)
        self.budget_planned = Decimal(planned)
        self.budget_spent = Decimal(spent)


def facts(*, slip_days=0, spent=5000, kpis=(), risks=(), gates=()):
    variance = project_variance(
        project=_Project(slip_days=slip_days, spent=spent), items_done=5, items_total=10
    )
    return StatusFacts(variance=variance, kpis=list(kpis), risks=list(risks), gates=list(gates))


def gate(name="Cutover", *, decision=None, decided_days_ago=1, state=None, due=None, rollback=""):
    decided_at = timezone.make_aware(datetime(2026, 11, 23, 9)) - timedelta(days=decided_days_ago)
    return GateFact(
        name=name,
        state=state or ("decided" if decision else "open"),
        decision=decision,
        decided_at=decided_at if decision else None,
        due_date=due,
        rollback_recommended_at=decided_at if rollback else None,
        rollback_reason=rollback,
    )


def rated(project_facts):
    rating = project_status(project_facts, today=TODAY)
    return rating.rag, [reason.rule for reason in rating.reasons]


def test_a_project_no_rule_touches_is_green_and_says_so():
    rating = project_status(facts(), today=TODAY)
    assert rating.rag == RAG.GREEN
    assert rating.reasons == []
    assert rating.summary == "All status rules pass."


@pytest.mark.parametrize(
    ("slip_days", "expected", "rule"),
    [
        (0, RAG.GREEN, None),
        (1, RAG.AMBER, "schedule_amber"),
        (13, RAG.AMBER, "schedule_amber"),
        (14, RAG.RED, "schedule_red"),
        (40, RAG.RED, "schedule_red"),
    ],
)
def test_schedule_slip_turns_amber_then_red_at_the_settings_threshold(slip_days, expected, rule):
    rag, rules = rated(facts(slip_days=slip_days))
    assert rag == expected
    assert rules == ([rule] if rule else [])


def test_schedule_threshold_follows_settings(settings):
    settings.RAG_RULES = {**settings.RAG_RULES, "schedule_red_days": 28}
    assert rated(facts(slip_days=21)) == (RAG.AMBER, ["schedule_amber"])
    assert rated(facts(slip_days=28)) == (RAG.RED, ["schedule_red"])


def test_budget_overrun_by_forecast_at_completion():
    # Half the items done, 5,600 of 10,000 spent: 11,200 at completion, 12% over.
    rag, rules = rated(facts(spent=5600))
    assert (rag, rules) == (RAG.RED, ["budget_red"])
    rag, rules = rated(facts(spent=5300))  # 6% over
    assert (rag, rules) == (RAG.AMBER, ["budget_amber"])


def test_breached_critical_kpi_is_red_other_breaches_amber():
    critical = KPIFact("p95 write latency", "breached", critical=True)
    other = KPIFact("Cache hit ratio", "breached", critical=False)
    assert rated(facts(kpis=[other])) == (RAG.AMBER, ["kpi_breached"])
    rag, rules = rated(facts(kpis=[critical, other]))
    assert rag == RAG.RED
    assert rules == ["critical_kpi_breached", "kpi_breached"]


def test_critical_kpi_at_risk_or_stale_is_amber_and_on_target_is_nothing():
    assert rated(facts(kpis=[KPIFact("Error rate", "warning", True)]))[0] == RAG.AMBER
    assert rated(facts(kpis=[KPIFact("Error rate", "stale", True)]))[0] == RAG.AMBER
    assert rated(facts(kpis=[KPIFact("Error rate", "on_target", True)]))[0] == RAG.GREEN
    assert rated(facts(kpis=[KPIFact("Error rate", "warning", False)]))[0] == RAG.GREEN


def test_critical_risk_past_review_is_red_within_review_amber():
    overdue = RiskFact(
        "R3", "Data loss at cutover", "critical", review_by=TODAY - timedelta(days=1)
    )
    in_time = RiskFact("R3", "Data loss at cutover", "critical", review_by=TODAY)
    high_overdue = RiskFact("R5", "Team capacity", "high", review_by=TODAY - timedelta(days=3))
    high_in_time = RiskFact("R5", "Team capacity", "high", review_by=TODAY + timedelta(days=3))
    assert rated(facts(risks=[overdue])) == (RAG.RED, ["critical_risk_overdue"])
    assert rated(facts(risks=[in_time])) == (RAG.AMBER, ["critical_risk_open"])
    assert rated(facts(risks=[high_overdue])) == (RAG.AMBER, ["critical_risk_open"])
    assert rated(facts(risks=[high_in_time])) == (RAG.GREEN, [])


def test_latest_gate_decision_counts_not_an_earlier_one():
    no_go_then_go = [
        gate("Cutover attempt 1", decision="no_go", decided_days_ago=5),
        gate("Cutover attempt 2", decision="go", decided_days_ago=1),
    ]
    assert rated(facts(gates=no_go_then_go)) == (RAG.GREEN, [])
    go_then_no_go = [
        gate("Plan sign-off", decision="go", decided_days_ago=20),
        gate("Cutover", decision="no_go", decided_days_ago=1),
    ]
    assert rated(facts(gates=go_then_no_go)) == (RAG.RED, ["gate_no_go"])
    conditional = [gate("Cutover", decision="conditional_go")]
    assert rated(facts(gates=conditional)) == (RAG.AMBER, ["gate_conditional"])


def test_rollback_recommendation_is_red_and_names_the_trigger():
    rating = project_status(
        facts(gates=[gate("Rollout 25%", rollback="API error rate 2.4 > 1")]), today=TODAY
    )
    assert rating.rag == RAG.RED
    assert rating.reasons[0].text == "Rollback recommended at Rollout 25%: API error rate 2.4 > 1"


def test_gate_open_past_due_is_amber():
    overdue = gate("Phase 1 exit", due=TODAY - timedelta(days=2))
    assert rated(facts(gates=[overdue])) == (RAG.AMBER, ["gate_overdue"])
    assert rated(facts(gates=[gate("Phase 1 exit", due=TODAY)])) == (RAG.GREEN, [])


def test_every_reason_is_listed_worst_first_and_the_summary_names_the_deciding_ones():
    rating = project_status(
        facts(
            slip_days=3,
            kpis=[KPIFact("p95 write latency", "breached", True)],
            gates=[gate("Cutover", decision="conditional_go")],
        ),
        today=TODAY,
    )
    assert rating.rag == RAG.RED
    assert [reason.rag for reason in rating.reasons] == [RAG.RED, RAG.AMBER, RAG.AMBER]
    assert rating.summary == "Critical KPI breached: p95 write latency."
    assert rating.reasons[1].text == "Schedule 3 days behind"


def test_every_rule_describes_itself_with_the_current_thresholds(settings):
    settings.RAG_RULES = {**settings.RAG_RULES, "schedule_red_days": 21}
    texts = {rule.key: rule.describe() for rule in RULES}
    assert texts["schedule_red"] == (
        "The forecast end lies 3 weeks (21 days) or more past the baseline end."
    )
    assert "10%" in texts["budget_red"]
    assert {rule.rag for rule in RULES} == {RAG.RED, RAG.AMBER}
