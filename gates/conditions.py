"""The conditions of a CONDITIONAL GO, tracked as actions.

When a gate is decided CONDITIONAL GO, each line of the conditions its signatures stated
becomes a condition of its own (bullets and numbering cut), in the decision's transaction. It
starts with the project's first manager who is a member as its owner (phases have no owner of
their own) and is due on the gate's due date if that lies after the day of the decision, else
`DAYS_TO_MEET` days after that day. Managers change owner and due date; the owner or a manager
marks it met. A condition past its due date and not met is escalated once for that due date:
stamped, written into the gate's trail, and told to its owner, the project's managers and the
gate's required approvers. Every change goes into the gate's audit trail.
"""

import re
from datetime import date, datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from core.people import display_name
from gates import policy, services
from gates.models import AuditAction, Gate, GateCondition, SignOff
from notifications import services as notification_services
from notifications.models import NotificationKind
from projects import policy as project_policy
from projects import selectors as project_selectors

DAYS_TO_MEET = 14
# "- ", "* ", "• ", "+ ", "1. " or "2) " at the start of a line.
BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])(?:\s+|$)")


def condition_lines(text: str) -> list[str]:
    """The conditions a signature states: one per non-empty line, without its bullet."""
    lines = (BULLET.sub("", line, count=1).strip() for line in text.splitlines())
    return [line for line in lines if line]


def default_owner(gate: Gate):
    """The project's first manager (as `project_managers` lists them) who is a member of it."""
    for manager in project_selectors.project_managers(project=gate.project):
        if project_policy.can_view_project(manager, gate.project):
            return manager
    return None


def default_due_date(gate: Gate, *, decided_on: date) -> date:
    """The gate's due date if it lies after the day of the decision, else DAYS_TO_MEET days
    after that day."""
    if gate.due_date and gate.due_date > decided_on:
        return gate.due_date
    return decided_on + timedelta(days=DAYS_TO_MEET)


def _described(condition: GateCondition) -> dict:
    return {
        "condition": condition.pk,
        "text": condition.text,
        "owner": condition.owner_id,
        "due_date": condition.due_date.isoformat(),
    }


def gate_conditions_record(
    *, gate: Gate, signoffs: list[SignOff], by, at: datetime
) -> list[GateCondition]:
    """Make the conditions of `gate`, decided CONDITIONAL GO at `at`: one per line of each of
    `signoffs`' conditions, in the order they were signed. Called inside the decision's
    transaction, the gate locked."""
    owner = default_owner(gate)
    due = default_due_date(gate, decided_on=timezone.localdate(at))
    made = []
    for signoff in signoffs:
        for text in condition_lines(signoff.conditions):
            condition = GateCondition(
                gate=gate,
                signoff=signoff,
                order=len(made) + 1,
                text=text,
                owner=owner,
                due_date=due,
                created_at=at,
            )
            condition.full_clean()
            condition.save()
            services._audit(
                gate,
                actor=by,
                action=AuditAction.CONDITION_ADDED,
                after=_described(condition),
                at=at,
            )
            made.append(condition)
    return made


def _open_condition(condition: GateCondition) -> tuple[Gate, GateCondition]:
    """The condition's gate, locked, and the condition as it is now; refused once it is met."""
    gate = services._locked(condition.gate)
    condition = GateCondition.objects.select_related("owner").get(pk=condition.pk)
    if condition.met_at:
        raise services.GateRefused("This condition is met: it is part of the gate's record now.")
    return gate, condition


@transaction.atomic
def gate_condition_update(*, condition: GateCondition, by, owner, due_date: date) -> GateCondition:
    """Give a condition another owner (a member of the project) or due date; the change goes
    into the gate's trail. A new due date is escalated anew once it passes."""
    gate, condition = _open_condition(condition)
    if not policy.can_manage_conditions(by, gate):
        raise services.GateRefused("Only a manager of the project changes a condition.")
    if not project_policy.can_view_project(owner, gate.project):
        raise services.GateRefused(f"{display_name(owner)} is not a member of this project.")
    before = _described(condition)
    if owner.pk == condition.owner_id and due_date == condition.due_date:
        return condition
    if due_date != condition.due_date:
        condition.escalated_at = None
    condition.owner, condition.due_date = owner, due_date
    condition.full_clean()
    condition.save()
    after = _described(condition)
    changed = [key for key in ("owner", "due_date") if before[key] != after[key]]
    services._audit(
        gate,
        actor=by,
        action=AuditAction.CONDITION_CHANGED,
        before={"condition": condition.pk, **{key: before[key] for key in changed}},
        after={"condition": condition.pk, **{key: after[key] for key in changed}},
    )
    return condition


@transaction.atomic
def gate_condition_mark_met(*, condition: GateCondition, by) -> GateCondition:
    """The condition's owner or a manager of the project says it is met: who and when are
    recorded, in the gate's trail too."""
    gate, condition = _open_condition(condition)
    if not policy.can_meet_condition(by, condition):
        raise services.GateRefused(
            "Only the condition's owner or a manager of the project marks it met."
        )
    now = timezone.now()
    GateCondition.objects.filter(pk=condition.pk).update(met_at=now, met_by=by)
    services._audit(
        gate,
        actor=by,
        action=AuditAction.CONDITION_MET,
        after={"condition": condition.pk, "text": condition.text, "met_by": by.pk},
        at=now,
    )
    condition.met_at, condition.met_by = now, by
    return condition


def gate_conditions_escalate_overdue(*, now: datetime | None = None) -> list[GateCondition]:
    """Escalate every condition past its due date and not met, once for its due date: stamp
    it, write it into the gate's trail and tell its owner, the project's managers and the
    gate's required approvers. Each is claimed by an update that only one run wins."""
    now = now or timezone.now()
    overdue = (
        GateCondition.objects.filter(
            met_at__isnull=True, escalated_at__isnull=True, due_date__lt=timezone.localdate(now)
        )
        .select_related("gate__project", "owner")
        .order_by("due_date", "pk")
    )
    escalated = []
    for condition in overdue:
        with transaction.atomic():
            gate = services._locked(condition.gate)
            claimed = GateCondition.objects.filter(
                pk=condition.pk,
                met_at__isnull=True,
                escalated_at__isnull=True,
                due_date=condition.due_date,
            ).update(escalated_at=now)
            if not claimed:
                continue  # met, moved or escalated since it was read
            services._audit(
                gate,
                actor=None,
                action=AuditAction.CONDITION_ESCALATED,
                after=_described(condition),
                at=now,
            )
            due = date_format(condition.due_date, "j F Y")
            notification_services.notify(
                users=[
                    condition.owner,
                    *project_selectors.project_managers(project=gate.project),
                    *policy.required_approvers(gate),
                ],
                kind=NotificationKind.CONDITION_OVERDUE,
                title=f"{gate.project.code} {gate.name}: a condition is overdue",
                body=f"{condition.text}\nDue {due}, owned by "
                f"{display_name(condition.owner, 'nobody')}, and not met yet.",
                url=reverse("gate-detail", args=[gate.pk]) + f"#condition-{condition.pk}",
                dedupe_key=f"gate-condition-overdue:{condition.pk}:{condition.due_date}",
            )
        condition.escalated_at = now
        escalated.append(condition)
    return escalated
