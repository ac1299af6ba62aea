"""Approvals go stale: a GO keeps being watched, and is decided again when it no longer holds.

After a GO or CONDITIONAL GO the gate's KPI criteria and linked risks are watched for a
window: the gate's `watch_days`, or else until the project's next gate is decided, and at
most `DEFAULT_WATCH_DAYS` days. Within it, a KPI criterion that is now not met, and has been
for as long as its KPI takes to confirm a change (and was not when the deciding signature was
given; a value too old to judge is no breach), or a linked risk now in a higher band than in
the evidence of that signature, marks the approval stale: once, in the gate's trail, told to
its approvers and the project's managers. A manager may then open a re-approval round: a new
gate with the same definition, linked to the first, whose decision and trail stay as they are.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from gates import policy, services
from gates.evaluation import Result, evaluate_gate
from gates.models import (
    DEFAULT_WATCH_DAYS,
    ApproverGroup,
    AuditAction,
    CriterionKind,
    Decision,
    Gate,
    GateApprover,
    GateCriterion,
    GateState,
    SignOff,
)
from notifications import services as notification_services
from notifications.models import NotificationKind
from projects import selectors as project_selectors
from risks.scoring import band_rank

APPROVED = (Decision.GO, Decision.CONDITIONAL_GO)


def _next_gate_decided_at():
    """The time the gate's next gate (higher order, not cancelled) was decided, if it was."""
    return Subquery(
        Gate.objects.filter(project=OuterRef("project"), order__gt=OuterRef("order"))
        .exclude(state=GateState.CANCELLED)
        .order_by("order", "pk")
        .values("decided_at")[:1]
    )


def watch_ends_at(gate: Gate, *, next_decided_at: datetime | None) -> datetime:
    """When the watch of `gate`'s approval ends."""
    if gate.watch_days:
        return gate.decided_at + timedelta(days=gate.watch_days)
    end = gate.decided_at + timedelta(days=DEFAULT_WATCH_DAYS)
    return min(end, next_decided_at) if next_decided_at else end


def watched_gates(*, now: datetime) -> list[Gate]:
    """The approved gates, not stale yet, whose watch window is open at `now`."""
    candidates = (
        Gate.objects.filter(
            state=GateState.DECIDED, decision__in=APPROVED, approval_stale_at__isnull=True
        )
        .filter(
            Q(watch_days__isnull=False)
            | Q(decided_at__gte=now - timedelta(days=DEFAULT_WATCH_DAYS))
        )
        .annotate(next_decided_at=_next_gate_decided_at())
        .select_related("project")
        .order_by("decided_at", "pk")
    )
    return [
        gate
        for gate in candidates
        if gate.decided_at <= now < watch_ends_at(gate, next_decided_at=gate.next_decided_at)
    ]


def deciding_signoff(gate: Gate) -> SignOff | None:
    """The latest valid signature given at or before the decision, with its evidence."""
    return (
        gate.signoffs.filter(
            invalidated_at__isnull=True, evidence__isnull=False, signed_at__lte=gate.decided_at
        )
        .select_related("evidence")
        .order_by("-signed_at", "-pk")
        .first()
    )


def stale_reasons(gate: Gate, *, now: datetime) -> list[str]:
    """Why the approval of `gate` no longer holds at `now`, in words; [] while it holds."""
    signoff = deciding_signoff(gate)
    signed = signoff.evidence.content if signoff else {}
    failing_then = {
        row["id"] for row in signed.get("criteria", []) if row.get("result") == Result.NOT_MET
    }
    kpi_criteria = set(gate.criteria.filter(kind=CriterionKind.KPI).values_list("pk", flat=True))
    reasons = [
        f"KPI breached: {result.text} ({result.evidence})"
        for result in evaluate_gate(gate, now=now).criteria
        if result.criterion_id in kpi_criteria
        and result.result == Result.NOT_MET
        and result.confirmed
        and result.criterion_id not in failing_then
    ]
    bands_then = {row["key"]: row["band"] for row in signed.get("risks", [])}
    for risk in gate.risks.order_by("key"):
        then = bands_then.get(risk.key)
        if then and band_rank(risk.band) > band_rank(then):
            reasons.append(
                f"Risk {risk.key} {risk.title} is now {risk.band.label.lower()} "
                f"(score {risk.score}); it was {then.lower()} when the gate was signed"
            )
    return reasons


def gate_approvals_watch(*, now: datetime | None = None) -> list[Gate]:
    """Watch every approval within its window: one that no longer holds is marked stale, once
    (claimed by an update that only one run wins), written into the gate's trail and told to
    its approvers and the project's managers. Returns the gates marked now."""
    now = now or timezone.now()
    marked = []
    for gate in watched_gates(now=now):
        reasons = stale_reasons(gate, now=now)
        if not reasons:
            continue
        text = "; ".join(reasons)
        with transaction.atomic():
            gate = services._locked(gate)
            claimed = Gate.objects.filter(pk=gate.pk, approval_stale_at__isnull=True).update(
                approval_stale_at=now, approval_stale_reasons=text
            )
            if not claimed:
                continue
            services._audit(
                gate,
                actor=None,
                action=AuditAction.APPROVAL_STALE,
                after={"reasons": reasons},
                at=now,
            )
            notification_services.notify(
                users=[
                    *policy.required_approvers(gate),
                    *project_selectors.project_managers(project=gate.project),
                ],
                kind=NotificationKind.APPROVAL_STALE,
                title=f"{gate.project.code} {gate.name}: the {gate.get_decision_display()} "
                "no longer holds",
                body=f"Since the gate was decided: {text}. A manager of the project may open a "
                "re-approval round on the gate's page.",
                url=reverse("gate-detail", args=[gate.pk]),
                dedupe_key=f"gate-approval-stale:{gate.pk}",
            )
        gate.approval_stale_at, gate.approval_stale_reasons = now, text
        marked.append(gate)
    return marked


def open_reapproval(gate: Gate) -> Gate | None:
    """The re-approval round of `gate` still in draft or open, if there is one."""
    return gate.reapprovals.filter(state__in=policy.DEFINITION_OPEN_STATES).first()


def _reapproval_name(gate: Gate) -> str:
    taken = set(Gate.objects.filter(project=gate.project).values_list("name", flat=True))
    round_ = gate.reapprovals.count() + 1
    while f"{gate.name} (re-approval {round_})" in taken:
        round_ += 1
    return f"{gate.name} (re-approval {round_})"


COPIED_GATE_FIELDS = (
    "project",
    "phase",
    "order",
    "description",
    "kind",
    "rollout_percent",
    "timing",
    "decision_rule",
    "quorum",
    "watch_days",
)
COPIED_CRITERION_FIELDS = (
    "order",
    "text",
    "kind",
    "critical",
    "kpi",
    "comparator",
    "threshold",
    "threshold_high",
    "phase",
    "conditional_limit",
    "rollback",
)


@transaction.atomic
def gate_reapproval_open(*, gate: Gate, by) -> Gate:
    """Open a re-approval round of `gate`, whose approval went stale: a new gate of the same
    project with the same criteria, approvers, approver groups and linked risks, linked back to
    it and open for sign-off. The first gate's decision and trail stay; its trail records the
    round. One round at a time."""
    gate = services._locked(gate)
    if not policy.can_manage_gate(by, gate):
        raise services.GateRefused("Only a manager of the project opens a re-approval round.")
    if not gate.approval_stale_at:
        raise services.GateRefused(
            "Only an approval that went stale is decided again in a re-approval round."
        )
    pending = open_reapproval(gate)
    if pending:
        raise services.GateRefused(
            f"A re-approval round is already under way: {pending.name} is "
            f"{pending.get_state_display().lower()}. Decide or cancel it first."
        )
    copy = Gate(
        **{field: getattr(gate, field) for field in COPIED_GATE_FIELDS},
        name=_reapproval_name(gate),
        reapproval_of=gate,
    )
    copy.full_clean()
    copy.save()
    groups = {}
    for group in gate.approver_groups.order_by("order", "pk"):
        groups[group.pk] = ApproverGroup.objects.create(
            gate=copy,
            order=group.order,
            name=group.name,
            rule=group.rule,
            quorum=group.quorum,
            veto=group.veto,
        )
    for slot in gate.approvers.order_by("pk"):
        GateApprover.objects.create(
            gate=copy,
            title=slot.title,
            user_id=slot.user_id,
            role=slot.role,
            group=groups.get(slot.group_id),
        )
    for criterion in gate.criteria.order_by("order", "pk"):
        GateCriterion.objects.create(
            gate=copy, **{field: getattr(criterion, field) for field in COPIED_CRITERION_FIELDS}
        )
    copy.risks.set(gate.risks.all())
    copy = services.gate_open(gate=copy, by=by)
    services._audit(
        gate,
        actor=by,
        action=AuditAction.REAPPROVAL_OPENED,
        after={"gate": copy.pk, "name": copy.name},
    )
    return copy
