"""What a KPI hands to the pages above: its facts, not its model."""

from dataclasses import dataclass


@dataclass(frozen=True)
class KPIFact:
    name: str
    status: str  # metrics.models.KPIStatus value
    critical: bool
