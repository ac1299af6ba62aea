from datetime import date
from decimal import Decimal

import pytest

from projects import variance
from projects.variance import RAG, BudgetVariance, ScheduleVariance


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (0, "on schedule"),
        (1, "1 day behind"),
        (6, "6 days behind"),
        (7, "1 week behind"),
        (21, "3 weeks behind"),
        (-3, "3 days ahead"),
        (-14, "2 weeks ahead"),
        (None, "no baseline"),
    ],
)
def test_schedule_variance_reads_in_days_and_weeks(days, text):
    assert str(ScheduleVariance(days)) == text


def test_a_baseline_without_a_forecast_says_the_forecast_is_missing_not_the_baseline():
    """It read "no baseline" when the baseline was there and only the forecast missing."""
    no_forecast = variance.schedule_variance(baseline_end=date(2026, 3, 1), forecast_end=None)
    no_baseline = variance.schedule_variance(baseline_end=None, forecast_end=date(2026, 3, 1))
    assert (str(no_forecast), str(no_baseline)) == ("no forecast yet", "no baseline")
    assert no_forecast.rag == no_baseline.rag == RAG.UNKNOWN
    assert RAG.UNKNOWN.label == "Not rated yet"


def test_schedule_variance_uses_the_actual_end_once_there_is_one():
    late = variance.schedule_variance(
        baseline_end=date(2026, 3, 1), forecast_end=date(2026, 3, 1), actual_end=date(2026, 3, 8)
    )
    assert late.days == 7


def test_schedule_thresholds_are_settings(settings):
    settings.RAG_RULES = {
        "schedule_amber_days": 3,
        "schedule_red_days": 10,
        "budget_amber_percent": 5,
        "budget_red_percent": 10,
    }
    assert ScheduleVariance(2).rag == RAG.GREEN
    assert ScheduleVariance(3).rag == RAG.AMBER
    assert ScheduleVariance(10).rag == RAG.RED
    assert ScheduleVariance(-5).rag == RAG.GREEN
    assert ScheduleVariance(None).rag == RAG.UNKNOWN


def test_budget_variance_forecasts_at_completion_from_progress():
    budget = BudgetVariance(planned=Decimal(15000), spent=Decimal(9600), percent_complete=50.0)
    assert budget.used_percent == 64.0
    assert budget.forecast_at_completion == Decimal(19200)
    assert budget.percent == 28.0
    assert str(budget) == "28% over budget"
    assert budget.rag == RAG.RED


def test_budget_under_plan_is_green():
    budget = BudgetVariance(planned=Decimal(10000), spent=Decimal(4000), percent_complete=50.0)
    assert budget.percent == -20.0
    assert str(budget) == "20% under budget"
    assert budget.rag == RAG.GREEN


def test_budget_without_progress_only_flags_an_overspend():
    assert BudgetVariance(Decimal(100), Decimal(50), None).percent is None
    assert BudgetVariance(Decimal(100), Decimal(120), None).percent == 20.0
    assert str(BudgetVariance(Decimal(0), Decimal(0), None)) == "no budget set"


def test_percent_complete_of_an_empty_checklist_is_unknown():
    assert variance.percent_complete(done=0, total=0) is None
    assert variance.percent_complete(done=1, total=3) == 33.3


def test_project_rag_is_the_worse_of_schedule_and_budget():
    class Project:
        baseline_end = date(2026, 3, 1)
        target_delivery = None
        forecast_end = date(2026, 3, 4)
        budget_planned = Decimal(1000)
        budget_spent = Decimal(100)

    result = variance.project_variance(project=Project, items_done=1, items_total=2)
    assert result.schedule.rag == RAG.AMBER
    assert result.budget.rag == RAG.GREEN
    assert result.rag == RAG.AMBER
