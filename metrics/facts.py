"""What a KPI hands to the pages above: its facts, not its model."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class KPIFact:
    name: str
    status: str  # metrics.models.KPIStatus value
    critical: bool


@dataclass(frozen=True)
class Reading:
    """A KPI's newest value, when it was measured, and where it came from; the values before
    it that confirming a change reads."""

    at: datetime
    value: float
    source: str  # in words: "Prometheus query", "Entered by hand"
    fresh: bool  # measured within the KPI's freshness window (metrics.status.is_fresh)
    # (at, value) of the values before the newest, newest first: up to the KPI's
    # confirm_readings - 1 of them (metrics.status.has_held).
    earlier: tuple[tuple[datetime, float], ...] = ()
