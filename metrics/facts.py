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
    """A KPI's newest value, when it was measured, and where it came from."""

    at: datetime
    value: float
    source: str  # in words: "Prometheus query", "Entered by hand"
    fresh: bool  # measured within the KPI's freshness window (metrics.status.is_fresh)
