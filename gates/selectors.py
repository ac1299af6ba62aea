"""Reads of gates that pages share."""

import json
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from core.people import PORTAL, display_name
from gates import policy, rules
from gates.audit_words import audit_sentences
from gates.evidence import EvidenceComparison, compare
from gates.facts import GateFact
from gates.models import (
    Decision,
    Gate,
    GateApprover,
    GateAuditEntry,
    GateCondition,
    GateCriterion,
    GateDelegation,
    GateState,
    SignOff,
    SignOffDecision,
)
from projects import policy as project_policy
from projects.facts import Activity
from projects.models import Membership, Project

PENDING_STATES = (GateState.DRAFT, GateState.OPEN)


def gate_list_for_project(*, project: Project) -> QuerySet[Gate]:
    """The project's gates in pipeline order, with criteria, approvers and valid sign-offs."""
    return (
        Gate.objects.filter(project=project)
        .select_related("phase")
        .prefetch_related(
            Prefetch("criteria", queryset=GateCriterion.objects.select_related("kpi", "phase")),
            "approvers__user",
            Prefetch(
                "signoffs",
                queryset=SignOff.objects.filter(invalidated_at__isnull=True).select_related(
                    "signer"
                ),
                to_attr="valid_signoffs",
            ),
        )
        .order_by("order", "pk")
    )


def gates_awaiting_signature(*, user) -> list[Gate]:
    """Open gates that `user` may sign now (as `gates.policy` decides), soonest due first."""
    if not (user and user.is_authenticated):
        return []
    # Narrowed in SQL to the gates that name the user, or a role they hold, or that someone
    # delegated to them; `gates.policy` decides which of those they may sign.
    my_roles = Membership.objects.filter(user=user).filter(
        Q(project_id=OuterRef("gate__project_id"))
        | Q(programme_id=OuterRef("gate__project__programme_id"))
    )
    slots = GateApprover.objects.filter(gate=OuterRef("pk")).filter(
        Q(user=user) | Q(user__isnull=True, role__in=my_roles.values("role"))
    )
    delegated = GateDelegation.objects.filter(gate=OuterRef("pk"), delegate=user)
    candidates = (
        Gate.objects.filter(state=GateState.OPEN, project__in=project_policy.visible_projects(user))
        .filter(Exists(slots) | Exists(delegated))
        .select_related("project")
        .order_by("due_date", "pk")
    )
    return policy.signable(user, candidates)


def overdue_conditions(*, today: date) -> QuerySet[GateCondition]:
    """Conditions past their due date (before `today`) and not met."""
    return GateCondition.objects.filter(met_at__isnull=True, due_date__lt=today)


def gate_pipelines(
    *, projects: QuerySet[Project], today: date | None = None
) -> dict[int, list[Gate]]:
    """Per project id, its gates (cancelled ones left out) in pipeline order, each with
    `signed` (valid sign-offs), `approver_count`, `conditions_overdue` (on `today`) and
    `reapproved` (a re-approval round of it was decided): one query for any number of
    projects."""
    overdue = (
        overdue_conditions(today=today or timezone.localdate())
        .filter(gate=OuterRef("pk"))
        .order_by()
        .values("gate")
        .annotate(count=Count("pk"))
        .values("count")
    )
    gates = (
        Gate.objects.filter(project__in=projects)
        .exclude(state=GateState.CANCELLED)
        .annotate(
            signed=Count(
                "signoffs", filter=Q(signoffs__invalidated_at__isnull=True), distinct=True
            ),
            approver_count=Count("approvers", distinct=True),
            conditions_overdue=Coalesce(Subquery(overdue), 0),
            reapproved=Exists(
                Gate.objects.filter(reapproval_of=OuterRef("pk"), state=GateState.DECIDED)
            ),
        )
        .order_by("project_id", "order", "pk")
    )
    pipelines: dict[int, list[Gate]] = {}
    for gate in gates:
        pipelines.setdefault(gate.project_id, []).append(gate)
    return pipelines


def next_gate(pipeline: list[Gate]) -> Gate | None:
    """The first gate of a pipeline still to be decided."""
    return next((gate for gate in pipeline if gate.state in PENDING_STATES), None)


def gate_status_facts(pipeline: list[Gate]) -> list[GateFact]:
    return [
        GateFact(
            name=gate.name,
            state=gate.state,
            decision=gate.decision,
            decided_at=gate.decided_at,
            due_date=gate.due_date,
            rollback_recommended_at=gate.rollback_recommended_at,
            rollback_reason=gate.rollback_reason,
            rollback_unjudged=gate.rollback_unjudged,
            overridden_recommendation=gate.overridden_recommendation,
            overridden_recommendation_label=gate.get_overridden_recommendation_display(),
            conditions_overdue=getattr(gate, "conditions_overdue", 0),
            approval_stale_at=gate.approval_stale_at,
            approval_stale_reasons=gate.approval_stale_reasons,
            reapproved=getattr(gate, "reapproved", False),
        )
        for gate in pipeline
    ]


@dataclass(frozen=True)
class AuditRow:
    entry: GateAuditEntry
    sentence: str  # what happened, in words
    technical: str  # what the entry records, as JSON: before, after and its hashes


def gate_audit_rows(*, gate: Gate) -> list[AuditRow]:
    """The gate's audit trail in order, each entry as a sentence beside what it records."""
    entries = list(gate.audit_entries.select_related("actor").order_by("sequence"))
    return [
        AuditRow(
            entry=entry,
            sentence=sentence,
            technical=json.dumps(
                {
                    "action": entry.action,
                    "before": entry.before,
                    "after": entry.after,
                    "previous_hash": entry.previous_hash,
                    "entry_hash": entry.entry_hash,
                },
                indent=2,
                ensure_ascii=False,
            ),
        )
        for entry, sentence in zip(entries, audit_sentences(entries), strict=True)
    ]


def gate_activity(
    *, projects: QuerySet[Project], since: datetime | None = None, limit: int | None = None
) -> list[Activity]:
    """Entries of the gate audit trails in `projects`, newest first."""
    entries = GateAuditEntry.objects.filter(gate__project__in=projects)
    if since:
        entries = entries.filter(at__gte=since)
    entries = entries.select_related("gate", "actor").order_by("-at", "-pk")
    return [
        Activity(
            project_id=entry.gate.project_id,
            at=entry.at,
            who=display_name(entry.actor, PORTAL),
            text=f"{entry.get_action_display().lower()}: {entry.gate.name}"
            + (
                f" ({_decision_label(entry.after['decision'])})"
                if entry.after.get("decision")
                else ""
            ),
            url=reverse("gate-detail", args=[entry.gate_id]),
        )
        for entry in entries[:limit]
    ]


def _decision_label(value: str) -> str:
    return {**dict(SignOffDecision.choices), **dict(Decision.choices)}.get(value, value)


@dataclass(frozen=True)
class SlotRow:
    pk: int
    label: str  # the slot as the plan names it: "CTO (any executive)"
    filled_by: str  # who fills it, in words; "" while open
    decision: str  # their decision, in words


@dataclass(frozen=True)
class GroupRows:
    name: str  # "" for the gate's own approvers
    rule: str  # in words
    slots: list[SlotRow]


def approver_groups(gate: Gate, holders: dict[int, set[int]], signoffs: list[SignOff]):
    """The gate's approver groups (its own approvers first), each with its rule in words and
    its slots, each slot with the person whose valid signature fills it (one person per slot,
    `policy.fill_slots`)."""
    slots = policy.slots_with_groups(gate)
    rows = {row.pk: row for row in slot_rows(gate, holders, signoffs, slots)}
    groups = rules.groups_of(gate, slots)
    return [
        GroupRows(
            name="" if group.key is rules.OWN_GROUP else group.name,
            rule=group.in_words(),
            slots=[rows[pk] for pk in group.slots],
        )
        for group in groups
    ]


def slot_rows(gate: Gate, holders, signoffs: list[SignOff], slots) -> list[SlotRow]:
    """Each of `slots` with the person whose valid signature fills it."""
    valid = [s for s in signoffs if s.invalidated_at is None]
    by_person = {(s.on_behalf_of_id or s.signer_id): s for s in valid}
    filled = policy.fill_slots(holders, by_person)
    rows = []
    for slot in slots:
        signoff = by_person.get(filled.get(slot.pk))
        who = ""
        if signoff:
            who = display_name(signoff.on_behalf_of or signoff.signer)
            if signoff.on_behalf_of_id:
                who += f" (signed by {display_name(signoff.signer)})"
        rows.append(
            SlotRow(
                pk=slot.pk,
                label=str(slot),
                filled_by=who,
                decision=signoff.get_decision_display() if signoff else "",
            )
        )
    return rows


@dataclass(frozen=True)
class EvidenceAsSigned:
    signer: str
    signed_at: datetime
    comparison: EvidenceComparison


def evidence_as_signed(gate: Gate, signoffs: list[SignOff], now: dict) -> EvidenceAsSigned | None:
    """For a decided gate, the evidence the deciding signature was given on, beside the
    evidence now; None while undecided or for signatures that kept no evidence."""
    if gate.state != GateState.DECIDED:
        return None
    deciding = [
        s
        for s in signoffs
        if s.invalidated_at is None and s.evidence_id and s.signed_at <= gate.decided_at
    ]
    if not deciding:
        return None
    last = deciding[-1]
    return EvidenceAsSigned(
        signer=display_name(last.on_behalf_of or last.signer),
        signed_at=last.signed_at,
        comparison=compare(last.evidence.content, now),
    )


def gate_conditions(*, gate: Gate, today: date) -> list[GateCondition]:
    """The gate's conditions in order, with who stated, owns and met them; each with
    `days_left` until its due date (from `today`), `days_overdue` and `overdue` (past due and
    not met)."""
    conditions = list(
        gate.conditions.select_related("signoff__signer", "owner", "met_by").order_by("order")
    )
    for condition in conditions:
        condition.days_left = (condition.due_date - today).days
        condition.days_overdue = max(0, -condition.days_left)
        condition.overdue = condition.met_at is None and condition.days_left < 0
    return conditions
