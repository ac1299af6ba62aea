"""Writes to the risk register. Every change to a risk's assessment leaves a history row."""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from core import versioning
from notifications import services as notification_services
from notifications.models import NotificationKind
from projects import selectors as project_selectors
from projects.models import Project
from risks.models import (
    EscalationReason,
    MitigationAction,
    Risk,
    RiskAssessment,
    RiskEscalation,
    RiskKeySequence,
    RiskStatus,
)

# The fields that make up an assessment: a change to any of them is recorded.
ASSESSED_FIELDS = ("likelihood", "impact", "status", "owner_id", "owner_title")
UNRESOLVED = (RiskStatus.OPEN, RiskStatus.OCCURRED)
UNDER_REVIEW = (RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.OCCURRED)
KEY_NUMBER = re.compile(r"^R(\d+)$")


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


def _next_key(project: Project, *, claimed: str = "") -> str:
    """The next free key of the project (R1, R2, …), or `claimed` if it is given: keys are
    never reused, and a claimed R-number moves the sequence past it."""
    sequence, _ = RiskKeySequence.objects.select_for_update().get_or_create(project=project)
    if not sequence.last_number:
        # A register loaded before the sequence existed: continue after its highest key.
        used = [
            int(match.group(1))
            for key in Risk.objects.filter(project=project).values_list("key", flat=True)
            if (match := KEY_NUMBER.match(key))
        ]
        sequence.last_number = max(used, default=0)
    if claimed:
        match = KEY_NUMBER.match(claimed)
        if match:
            sequence.last_number = max(sequence.last_number, int(match.group(1)))
        key = claimed
    else:
        sequence.last_number += 1
        key = f"R{sequence.last_number}"
    sequence.save()
    return key


@transaction.atomic
def risk_create(
    *,
    project: Project,
    by,
    key: str = "",
    reason: str = "",
    assessed_at: datetime | None = None,
    **fields,
) -> Risk:
    """Add a risk to `project`'s register with its first assessment; without a key, the next
    one (R1, R2, …) is given."""
    risk = Risk(project=project, key=_next_key(project, claimed=key.strip()), **fields)
    risk.full_clean()
    risk.save()
    _record_assessment(risk=risk, by=by, reason=reason or "First assessment.", at=assessed_at)
    return risk


@transaction.atomic
def risk_update(*, risk: Risk, by, reason: str = "", version: int | None = None, **changes) -> Risk:
    """Change `risk`; a new assessment row is written when likelihood, impact, status or owner
    differ from what is stored. With `version`, a save based on an older version is refused."""
    stored = versioning.version_claim(Risk, pk=risk.pk, version=version)
    if changes:
        # Fields not changed are saved as they are now, not as the caller read them: a save
        # without a version must not put back what someone else saved in between.
        changed = set(changes) | {Risk._meta.get_field(name).attname for name in changes}
        for field in Risk._meta.concrete_fields:
            if field.attname not in changed and not field.generated:
                setattr(risk, field.attname, getattr(stored, field.attname))
    for field, value in changes.items():
        setattr(risk, field, value)
    risk.version = stored.version
    risk.full_clean()
    risk.save()
    if any(getattr(stored, field) != getattr(risk, field) for field in ASSESSED_FIELDS):
        _record_assessment(risk=risk, by=by, reason=reason, at=None)
    _resolve_lapsed_escalations(risk_ids=[risk.pk], now=timezone.now())
    return risk


@transaction.atomic
def mitigation_action_create(*, risk: Risk, by, **fields) -> MitigationAction:
    last = risk.actions.aggregate(last=Max("order"))["last"] or 0
    action = MitigationAction(risk=risk, order=last + 1, **fields)
    action.full_clean()
    action.save()
    return action


@transaction.atomic
def mitigation_action_set_done(*, action: MitigationAction, done: bool, by) -> MitigationAction:
    """Tick the action (recording who and when) or untick it."""
    action = MitigationAction.objects.select_for_update().get(pk=action.pk)
    if done and not action.done:
        action.done, action.done_at, action.done_by = True, timezone.now(), by
    elif not done:
        action.done, action.done_at, action.done_by = False, None, None
    action.full_clean()
    action.save()
    return action


def _escalation_candidates(*, now: datetime, project_ids=None, risk_ids=None):
    """(risk, reason, detail) for every risk (of these projects, or these risks) that should
    be escalated now."""
    today = timezone.localdate(now)
    risks = Risk.objects.select_related("project", "owner")
    if project_ids is not None:
        risks = risks.filter(project_id__in=project_ids)
    if risk_ids is not None:
        risks = risks.filter(pk__in=risk_ids)
    for risk in risks.filter(review_by__lt=today, status__in=UNDER_REVIEW):
        yield risk, EscalationReason.REVIEW_OVERDUE, f"Review was due on {risk.review_by:%d %b %Y}."
    cutoff = now - timedelta(hours=settings.RISK_ESCALATE_AFTER_HOURS)
    high = (
        risks.filter(score__gte=settings.RISK_BAND_THRESHOLDS["high"], status__in=UNRESOLVED)
        .annotate(last_assessed=Max("assessments__assessed_at"))
        .filter(last_assessed__lte=cutoff)
    )
    for risk in high:
        hours = int((now - risk.last_assessed).total_seconds() // 3600)
        yield (
            risk,
            EscalationReason.UNRESOLVED_HIGH,
            f"{risk.band.label} risk (score {risk.score}) {risk.get_status_display().lower()} "
            f"and unchanged for {hours} hours.",
        )


def _resolve_lapsed_escalations(*, risk_ids=None, now: datetime) -> int:
    """Close open escalations whose reason no longer holds."""
    open_escalations = RiskEscalation.objects.filter(resolved_at__isnull=True)
    if risk_ids is not None:
        open_escalations = open_escalations.filter(risk_id__in=risk_ids)
    open_escalations = list(open_escalations)
    if not open_escalations:
        return 0
    still_due = {
        (risk.pk, reason)
        for risk, reason, _ in _escalation_candidates(
            now=now, risk_ids={escalation.risk_id for escalation in open_escalations}
        )
    }
    lapsed = [
        escalation.pk
        for escalation in open_escalations
        if (escalation.risk_id, escalation.reason) not in still_due
    ]
    return RiskEscalation.objects.filter(pk__in=lapsed).update(resolved_at=now)


def risk_escalate_overdue(*, now: datetime | None = None, project_ids=None) -> list[RiskEscalation]:
    """Escalate overdue reviews and high risks left unresolved too long: mark each escalated
    and notify its owner and the project's managers. Idempotent: an open escalation is not
    repeated, whoever runs this and however often."""
    now = now or timezone.now()
    escalated = []
    for risk, reason, detail in _escalation_candidates(now=now, project_ids=project_ids):
        try:
            with transaction.atomic():
                escalation = RiskEscalation.objects.create(
                    risk=risk, reason=reason, detail=detail, escalated_at=now
                )
                kind = (
                    NotificationKind.RISK_REVIEW_OVERDUE
                    if reason == EscalationReason.REVIEW_OVERDUE
                    else NotificationKind.RISK_ESCALATED
                )
                why = escalation.get_reason_display()
                notification_services.notify(
                    users=[risk.owner, *project_selectors.project_managers(project=risk.project)],
                    kind=kind,
                    title=f"{risk.project.code} {risk.key} escalated: {why}",
                    body=f"{risk.key}: {risk.title}\n{detail}",
                    url=reverse("risk-detail", args=[risk.pk]),
                    dedupe_key=f"risk-escalation:{escalation.pk}",
                )
        except IntegrityError:
            continue  # already escalated for this reason, by this run's twin or an earlier one
        escalated.append(escalation)
    _resolve_lapsed_escalations(now=now)
    return escalated
