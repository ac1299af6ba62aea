"""Writes to the risk register. Every change to a risk's assessment leaves a history row."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from projects.models import Project
from risks.models import Risk, RiskAssessment

# The fields that make up an assessment: a change to any of them is recorded.
ASSESSED_FIELDS = ("likelihood", "impact", "status", "owner_id", "owner_title")


def _record_assessment(*, risk: Risk, by, reason: str, at: datetime | None) -> RiskAssessment:
    assessment = RiskAssessment(
        risk=risk,
        assessed_at=at or timezone.now(),
        assessed_by=by,
        likelihood=risk.likelihood,
        impact=risk.impact,
        status=risk.status,
        owner_id=risk.owner_id,
        owner_title=risk.owner_title,
        reason=reason,
    )
    assessment.full_clean()
    assessment.save()
    return assessment


@transaction.atomic
def risk_create(
    *, project: Project, by, reason: str = "", assessed_at: datetime | None = None, **fields
) -> Risk:
    """Add a risk to `project`'s register with its first assessment."""
    risk = Risk(project=project, **fields)
    risk.full_clean()
    risk.save()
    _record_assessment(risk=risk, by=by, reason=reason or "First assessment.", at=assessed_at)
    return risk


@transaction.atomic
def risk_update(*, risk: Risk, by, reason: str = "", **changes) -> Risk:
    """Change `risk`; a new assessment row is written when likelihood, impact, status or owner
    differ from what is stored."""
    stored = Risk.objects.select_for_update().get(pk=risk.pk)
    for field, value in changes.items():
        setattr(risk, field, value)
    risk.full_clean()
    risk.save()
    if any(getattr(stored, field) != getattr(risk, field) for field in ASSESSED_FIELDS):
        _record_assessment(risk=risk, by=by, reason=reason, at=None)
    return risk
