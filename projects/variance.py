"""Schedule and budget variance, computed here and nowhere else.

Schedule variance is the number of days a forecast (or actual) end lies after the baseline
end: positive is late. Budget variance compares the forecast at completion (what has been
spent, scaled up by the share of the work done) with the planned budget.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from django.conf import settings


class RAG(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return {"green": "On track", "amber": "At risk", "red": "Off track"}.get(
            self.value, "Not rated yet"
        )


def worst(*ratings: RAG) -> RAG:
    order = [RAG.RED, RAG.AMBER, RAG.GREEN]
    known = [rating for rating in ratings if rating != RAG.UNKNOWN]
    return min(known, key=order.index) if known else RAG.UNKNOWN


@dataclass(frozen=True)
class ScheduleVariance:
    days: int | None  # positive: behind the baseline
    forecast_missing: bool = False  # without days: the baseline is there, the forecast is not

    @property
    def rag(self) -> RAG:
        if self.days is None:
            return RAG.UNKNOWN
        limits = settings.RAG_RULES
        if self.days >= limits["schedule_red_days"]:
            return RAG.RED
        if self.days >= limits["schedule_amber_days"]:
            return RAG.AMBER
        return RAG.GREEN

    @property
    def weeks(self) -> float | None:
        return None if self.days is None else round(self.days / 7, 1)

    def __str__(self) -> str:
        if self.days is None:
            return "no forecast yet" if self.forecast_missing else "no baseline"
        if self.days == 0:
            return "on schedule"
        direction = "behind" if self.days > 0 else "ahead"
        size = abs(self.days)
        if size >= 7:
            weeks = round(size / 7)
            return f"{weeks} week{'s' if weeks != 1 else ''} {direction}"
        return f"{size} day{'s' if size != 1 else ''} {direction}"


def schedule_variance(
    *, baseline_end: date | None, forecast_end: date | None, actual_end: date | None = None
) -> ScheduleVariance:
    end = actual_end or forecast_end
    if baseline_end is None or end is None:
        return ScheduleVariance(None, forecast_missing=baseline_end is not None)
    return ScheduleVariance((end - baseline_end).days)


@dataclass(frozen=True)
class BudgetVariance:
    planned: Decimal
    spent: Decimal
    percent_complete: float | None

    @property
    def used_percent(self) -> float | None:
        return float(self.spent / self.planned * 100) if self.planned else None

    @property
    def forecast_at_completion(self) -> Decimal | None:
        if self.percent_complete:
            return self.spent * Decimal(100) / Decimal(str(self.percent_complete))
        return self.spent if self.spent > self.planned else None

    @property
    def percent(self) -> float | None:
        """How far the forecast at completion lies over (+) or under (-) the plan."""
        forecast = self.forecast_at_completion
        if not self.planned or forecast is None:
            return None
        return round(float((forecast - self.planned) / self.planned * 100), 1)

    @property
    def rag(self) -> RAG:
        if self.percent is None:
            return RAG.UNKNOWN
        limits = settings.RAG_RULES
        if self.percent >= limits["budget_red_percent"]:
            return RAG.RED
        if self.percent >= limits["budget_amber_percent"]:
            return RAG.AMBER
        return RAG.GREEN

    def __str__(self) -> str:
        if self.percent is None:
            return "no forecast yet" if self.planned else "no budget set"
        if abs(self.percent) < 0.05:
            return "on budget"
        return f"{abs(self.percent):g}% {'over' if self.percent > 0 else 'under'} budget"


def percent_complete(*, done: int, total: int) -> float | None:
    return round(done / total * 100, 1) if total else None


@dataclass(frozen=True)
class ProjectVariance:
    schedule: ScheduleVariance
    budget: BudgetVariance
    percent_complete: float | None
    items_done: int
    items_total: int

    @property
    def rag(self) -> RAG:
        return worst(self.schedule.rag, self.budget.rag)


def project_variance(*, project, items_done: int, items_total: int) -> ProjectVariance:
    """The variance of `project` given its checklist counts (which the caller aggregates)."""
    complete = percent_complete(done=items_done, total=items_total)
    return ProjectVariance(
        schedule=schedule_variance(
            baseline_end=project.baseline_end or project.target_delivery,
            forecast_end=project.forecast_end,
        ),
        budget=BudgetVariance(
            planned=project.budget_planned, spent=project.budget_spent, percent_complete=complete
        ),
        percent_complete=complete,
        items_done=items_done,
        items_total=items_total,
    )


def phase_variance(phase) -> ScheduleVariance:
    return schedule_variance(
        baseline_end=phase.baseline_end,
        forecast_end=phase.forecast_end,
        actual_end=phase.actual_end,
    )
