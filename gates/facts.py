"""What a gate hands to the pages above: its facts, not its model."""

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class GateFact:
    name: str
    state: str  # gates.models.GateState value
    decision: str | None
    decided_at: datetime | None
    due_date: date | None
    rollback_recommended_at: datetime | None
    rollback_reason: str = ""
    rollback_unjudged: str = ""  # rollback triggers that cannot be judged now, and why
    overridden_recommendation: str = ""  # gates.models.Recommendation value, if overridden
    overridden_recommendation_label: str = ""
    conditions_overdue: int = 0  # conditions of its CONDITIONAL GO past due and not met
    approval_stale_at: datetime | None = None  # when its GO stopped holding
    approval_stale_reasons: str = ""
    reapproved: bool = False  # a re-approval round of it was decided since
