"""What a risk hands to the pages above: its facts, not its model."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RiskFact:
    key: str
    title: str
    band: str  # risks.scoring.Band value
    review_by: date | None
