"""Gates: opening, signing, deciding, and the append-only, hash-chained audit trail."""

import hashlib
import json
from dataclasses import asdict

from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.request_context import security_event
from gates import conditions as tracked_conditions
from gates import policy
from gates.evaluation import GateEvaluation, evaluate_gate
from gates.models import (
    AuditAction,
    Decision,
    DecisionRule,
    Gate,
    GateApprover,
    GateAuditEntry,
    GateCriterion,
    GateDelegation,
    GateKind,
    GateState,
    SignOff,
    SignOffDecision,
)
from notifications import services as notification_services
from notifications.models import NotificationKind
from projects import policy as project_policy
from projects import selectors as project_selectors

GENESIS = "0" * 64


class GateRefused(Exception):
    """The action is not allowed now; the message says why, for the person who tried."""


class PasswordRefused(GateRefused):
    """The password entered to sign is not the signer's."""


# The audit trail


def _canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _entry_hash(entry: GateAuditEntry) -> str:
    return hashlib.sha256(
        _canonical(
            {
                "gate": entry.gate_id,
                "sequence": entry.sequence,
                "at": entry.at.isoformat(),
                "actor": entry.actor_id,
                "action": entry.action,
                "before": entry.before,
                "after": entry.after,
                "previous": entry.previous_hash,
            }
        )
    ).hexdigest()


def _audit(gate: Gate, *, actor, action: str, before=None, after=None, at=None) -> GateAuditEntry:
    """Append an entry to the gate's trail (the caller holds the gate's row lock)."""
    last = gate.audit_entries.order_by("-sequence").first()
    entry = GateAuditEntry(
        gate=gate,
        sequence=(last.sequence + 1) if last else 1,
        at=(at or timezone.now()).replace(microsecond=0),
        actor=actor,
        action=action,
        before=json.loads(_canonical(before or {})),
        after=json.loads(_canonical(after or {})),
        previous_hash=last.entry_hash if last else GENESIS,
    )
    entry.entry_hash = _entry_hash(entry)
    entry.save()
    # The gate keeps the head of its chain, so that losing the latest entries shows too.
    Gate.objects.filter(pk=gate.pk).update(audit_head=entry.entry_hash)
    return entry


def gate_audit_seal(*, entries: list[GateAuditEntry]) -> str:
    """Chain a gate's trail anew where it was written elsewhere (an imported project): each
    entry, in order and not yet saved, follows the one before and hashes what it holds with
    the ids it has here. Returns the head the gate keeps ("" for no entries)."""
    previous = GENESIS
    for entry in entries:
        entry.previous_hash = previous
        entry.entry_hash = _entry_hash(entry)
        previous = entry.entry_hash
    return "" if previous == GENESIS else previous


def gate_audit_verify(*, gate: Gate) -> tuple[bool, str]:
    """Walk the gate's trail: every entry must hash to what it says, follow the one before
    and leave no gap in the sequence."""
    previous, expected_sequence = GENESIS, 1
    for entry in gate.audit_entries.order_by("sequence"):
        if entry.sequence != expected_sequence:
            return False, f"Entry {expected_sequence} is missing."
        if entry.previous_hash != previous:
            return False, f"Entry {entry.sequence} does not follow entry {entry.sequence - 1}."
        if _entry_hash(entry) != entry.entry_hash:
            return False, f"Entry {entry.sequence} was changed after it was written."
        previous, expected_sequence = entry.entry_hash, expected_sequence + 1
    head = Gate.objects.values_list("audit_head", flat=True).get(pk=gate.pk)
    if previous != (head or GENESIS):
        return False, "The latest entries are missing: the trail ends before the gate's head."
    return True, f"{expected_sequence - 1} entries, intact."


# What is signed


def gate_snapshot(gate: Gate, evaluation: GateEvaluation) -> dict:
    """The canonical record an approver signs: the gate, its criteria as judged now, and the
    set of required approvers."""
    approvers = sorted(
        (slot.pk, slot.user_id or 0, slot.role, slot.title) for slot in gate.approvers.all()
    )
    return {
        "gate": gate.pk,
        "project": gate.project_id,
        "name": gate.name,
        "kind": gate.kind,
        "rollout_percent": gate.rollout_percent,
        "decision_rule": gate.decision_rule,
        "quorum": gate.quorum,
        "criteria": [asdict(result) for result in evaluation.criteria],
        "approvers": [list(slot) for slot in approvers],
    }


def snapshot_hash(snapshot: dict) -> str:
    return hashlib.sha256(_canonical(snapshot)).hexdigest()


def gate_current_hash(gate: Gate) -> str:
    return snapshot_hash(gate_snapshot(gate, evaluate_gate(gate)))


def signoff_verify(signoff: SignOff) -> bool:
    """Does the signature belong to this gate as it stood? A signature copied onto another
    gate, or made on a snapshot that no longer matches, fails."""
    entry = signoff.gate.audit_entries.filter(
        action=AuditAction.SIGNED, after__signoff=signoff.pk
    ).first()
    return bool(
        entry
        and entry.after.get("content_hash") == signoff.content_hash
        and entry.after.get("signer") == signoff.signer_id
    )


# State changes


def _locked(gate: Gate) -> Gate:
    return Gate.objects.select_for_update(of=("self",)).select_related("project").get(pk=gate.pk)


@transaction.atomic
def gate_open(*, gate: Gate, by) -> Gate:
    gate = _locked(gate)
    if gate.state != GateState.DRAFT:
        raise GateRefused(
            f"Only a draft gate can be opened; this one is {gate.get_state_display().lower()}."
        )
    Gate.objects.filter(pk=gate.pk).update(state=GateState.OPEN)
    _audit(
        gate,
        actor=by,
        action=AuditAction.OPENED,
        before={"state": gate.state},
        after={"state": GateState.OPEN},
    )
    gate.state = GateState.OPEN
    return gate


@transaction.atomic
def gate_cancel(*, gate: Gate, by, reason: str) -> Gate:
    gate = _locked(gate)
    if gate.state not in (GateState.DRAFT, GateState.OPEN):
        raise GateRefused(f"A {gate.get_state_display().lower()} gate cannot be cancelled.")
    Gate.objects.filter(pk=gate.pk).update(state=GateState.CANCELLED)
    _audit(
        gate,
        actor=by,
        action=AuditAction.CANCELLED,
        before={"state": gate.state},
        after={"state": GateState.CANCELLED, "reason": reason},
    )
    gate.state = GateState.CANCELLED
    return gate


def gate_sign(
    *,
    gate: Gate,
    signer,
    decision: str,
    password: str,
    seen_hash: str,
    request,
    comment: str = "",
    conditions: str = "",
) -> SignOff:
    """Sign `gate` for `signer`, who proves it is them with their password, on the snapshot
    they saw (`seen_hash`); `request` is the HTTP request, for the login lockout, which a wrong
    password counts towards. Refused, changing nothing, if the gate is not open, the signer is
    not a required approver, the password is wrong, they signed already, or the gate changed
    since they read it. May decide the gate."""
    # Checked before the transaction, so that a failed attempt is kept for the lockout.
    if authenticate(request, username=signer.get_username(), password=password) != signer:
        security_event("signature_refused", gate=gate.pk, signer=signer.get_username())
        raise PasswordRefused("The password is not correct; nothing was signed.")
    signoff = _sign(
        gate=gate,
        signer=signer,
        decision=decision,
        seen_hash=seen_hash,
        comment=comment,
        conditions=conditions,
    )
    security_event(
        "gate_signed",
        gate=gate.pk,
        signoff=signoff.pk,
        signer=signer.get_username(),
        decision=decision,
    )
    return signoff


@transaction.atomic
def _sign(*, gate, signer, decision, seen_hash, comment, conditions) -> SignOff:
    gate = _locked(gate)
    if gate.state != GateState.OPEN:
        raise GateRefused(
            f"This gate is {gate.get_state_display().lower()}: it takes no signatures."
        )
    represented = policy.signs_for(signer, gate)
    if represented is None:
        raise GateRefused("You are not a required approver of this gate.")
    on_behalf_of = None if represented == signer else represented
    if policy.has_signed(gate, represented):
        raise GateRefused(f"{represented.get_username()} has already signed this gate.")
    if decision not in SignOffDecision.values:
        raise GateRefused("Choose approve, reject, or approve with conditions.")
    if decision == SignOffDecision.APPROVE_WITH_CONDITIONS and not conditions.strip():
        raise GateRefused("Approving with conditions needs the conditions.")
    current = gate_current_hash(gate)
    if current != seen_hash:
        raise GateRefused(
            "The gate changed while you were reading it (criteria, values or approvers); "
            "review it again and sign what you see now."
        )
    try:
        with transaction.atomic():
            signoff = SignOff.objects.create(
                gate=gate,
                signer=signer,
                decision=decision,
                conditions=conditions.strip(),
                comment=comment.strip(),
                signed_at=timezone.now(),
                content_hash=current,
                on_behalf_of=on_behalf_of,
            )
    except IntegrityError:
        raise GateRefused("You have already signed this gate.") from None
    _audit(
        gate,
        actor=signer,
        action=AuditAction.SIGNED,
        after={
            "signoff": signoff.pk,
            "signer": signer.pk,
            "on_behalf_of": on_behalf_of.pk if on_behalf_of else None,
            "decision": decision,
            "content_hash": current,
            "conditions": signoff.conditions,
        },
    )
    _decide_if_due(gate, by=signer)
    return signoff


def _decide_if_due(gate: Gate, *, by) -> Decision | None:
    """Decide the gate once its rule is met; returns the decision, if one was made now."""
    approvers = policy.required_approvers(gate)
    valid = list(gate.signoffs.filter(invalidated_at__isnull=True))
    approvals = [s for s in valid if s.decision != SignOffDecision.REJECT]
    rejections = [s for s in valid if s.decision == SignOffDecision.REJECT]
    approved_for = {s.on_behalf_of_id or s.signer_id for s in approvals}
    rule = gate.decision_rule
    outcome = None
    if rule == DecisionRule.ALL:
        if rejections:
            outcome = Decision.NO_GO
        elif approved_for >= {user.pk for user in approvers}:
            outcome = Decision.GO
    elif rule == DecisionRule.ANY:
        if approvals:
            outcome = Decision.GO
        elif rejections and len(rejections) == len(approvers):
            outcome = Decision.NO_GO
    elif rule == DecisionRule.QUORUM:
        if len(approvals) >= gate.quorum:
            outcome = Decision.GO
        elif len(approvers) - len(rejections) < gate.quorum:
            outcome = Decision.NO_GO
    if outcome is None:
        return None
    if outcome == Decision.GO and any(
        s.decision == SignOffDecision.APPROVE_WITH_CONDITIONS for s in approvals
    ):
        outcome = Decision.CONDITIONAL_GO
    now = timezone.now()
    decided = Gate.objects.filter(pk=gate.pk, state=GateState.OPEN).update(
        state=GateState.DECIDED, decision=outcome, decided_at=now
    )
    if not decided:
        return None  # someone else decided it: a gate is decided once
    conditions = [s.conditions for s in approvals if s.conditions]
    _audit(
        gate,
        actor=by,
        action=AuditAction.DECIDED,
        before={"state": GateState.OPEN},
        after={"state": GateState.DECIDED, "decision": outcome, "conditions": conditions},
        at=now,
    )
    if outcome == Decision.CONDITIONAL_GO:
        tracked_conditions.gate_conditions_record(
            gate=gate, signoffs=[s for s in approvals if s.conditions], by=by, at=now
        )
    label = Decision(outcome).label
    notification_services.notify(
        users=[*approvers, *project_selectors.project_managers(project=gate.project)],
        kind=NotificationKind.GATE_DECIDED,
        title=f"{gate.project.code} {gate.name}: {label}",
        body="Conditions: " + "; ".join(conditions) if conditions else f"Decided {label}.",
        url=reverse("gate-detail", args=[gate.pk]),
        dedupe_key=f"gate-decided:{gate.pk}",
    )
    return outcome


@transaction.atomic
def gate_delegate(*, gate: Gate, delegator, delegate, until, by) -> GateDelegation:
    """Let `delegate` sign `gate` for `delegator` (a required approver) until `until`."""
    gate = _locked(gate)
    if gate.state not in (GateState.DRAFT, GateState.OPEN):
        raise GateRefused("Only a draft or open gate can be delegated.")
    if delegator not in policy.required_approvers(gate):
        raise GateRefused("Only a required approver can delegate their signature.")
    if not project_policy.can_view_project(delegate, gate.project):
        raise GateRefused(f"{delegate.get_username()} is not a member of this project.")
    delegation = GateDelegation(
        gate=gate, delegator=delegator, delegate=delegate, starts_at=timezone.now(), ends_at=until
    )
    delegation.full_clean()
    delegation.save()
    _audit(
        gate,
        actor=by,
        action=AuditAction.DELEGATED,
        after={"delegator": delegator.pk, "delegate": delegate.pk, "until": until.isoformat()},
    )
    return delegation


@transaction.atomic
def gate_signatures_invalidate(*, gate: Gate, by, reason: str) -> int:
    """The gate's criteria or approvers changed: every valid signature of an open gate is
    stamped invalid (when, why) and the trail records it."""
    gate = _locked(gate)
    now = timezone.now()
    count = 0
    for signoff in gate.signoffs.filter(invalidated_at__isnull=True):
        SignOff.objects.filter(pk=signoff.pk).update(invalidated_at=now, invalidated_reason=reason)
        _audit(
            gate,
            actor=by,
            action=AuditAction.INVALIDATED,
            before={"signoff": signoff.pk},
            after={"reason": reason},
            at=now,
        )
        count += 1
        notification_services.notify(
            users=[signoff.signer],
            kind=NotificationKind.SIGNATURE_INVALIDATED,
            title=f"{gate.project.code} {gate.name}: your signature was invalidated",
            body=f"{reason} Review the gate and sign again.",
            url=reverse("gate-detail", args=[gate.pk]),
            dedupe_key=f"signature-invalidated:{signoff.pk}",
        )
    return count


@transaction.atomic
def gate_definition_changed(*, gate: Gate, by, action: str, before: dict, after: dict) -> int:
    """A criterion or an approver of `gate` was added, changed or removed: record it, and
    invalidate the signatures given on the old definition (an open gate only)."""
    gate = _locked(gate)
    _audit(gate, actor=by, action=action, before=before, after=after)
    if gate.state != GateState.OPEN:
        return 0
    what = "criteria" if action == AuditAction.CRITERION_CHANGED else "approvers"
    return gate_signatures_invalidate(
        gate=gate, by=by, reason=f"The gate's {what} changed after this signature."
    )


def _described(row) -> dict:
    return {
        field.name: str(getattr(row, field.attname))
        for field in row._meta.concrete_fields
        if field.name not in {"id", "gate"}
    }


def _definition_action(row) -> str:
    return (
        AuditAction.CRITERION_CHANGED
        if isinstance(row, GateCriterion)
        else AuditAction.APPROVER_CHANGED
    )


def _definition_locked(gate: Gate) -> Gate:
    """The gate, locked, if its definition may still change: a decided or cancelled gate's
    criteria and approvers are part of its record."""
    gate = _locked(gate)
    if not policy.definition_is_open(gate):
        raise GateRefused(
            f"This gate is {gate.get_state_display().lower()}: its criteria and approvers are "
            "part of its record and are not changed."
        )
    return gate


@transaction.atomic
def gate_definition_save(*, row: GateCriterion | GateApprover, by) -> GateCriterion | GateApprover:
    """Save a criterion or an approver of a draft or open gate (new or changed), validated as
    a form would be, under the gate's lock; the change goes into the gate's trail and
    invalidates signatures given on the old definition."""
    _definition_locked(row.gate)
    before = _described(type(row).objects.get(pk=row.pk)) if row.pk else {}
    row.full_clean()
    row.save()
    gate_definition_changed(
        gate=row.gate, by=by, action=_definition_action(row), before=before, after=_described(row)
    )
    return row


@transaction.atomic
def gate_definition_delete(*, row: GateCriterion | GateApprover, by) -> None:
    """Remove a criterion or an approver from its draft or open gate, recorded as a change of
    definition."""
    gate = _definition_locked(row.gate)
    before = _described(row)
    row.delete()
    gate_definition_changed(
        gate=gate, by=by, action=_definition_action(row), before=before, after={}
    )


def live_rollout_stages(project_ids=None):
    """Per project, the rollout stage decided GO most recently: the one carrying traffic."""
    stages = Gate.objects.filter(
        kind=GateKind.ROLLOUT_STAGE,
        state=GateState.DECIDED,
        decision__in=[Decision.GO, Decision.CONDITIONAL_GO],
    ).select_related("project")
    if project_ids is not None:
        stages = stages.filter(project_id__in=project_ids)
    live = {}
    for stage in stages.order_by("project_id", "-decided_at", "-order"):
        live.setdefault(stage.project_id, stage)
    return list(live.values())


def rollout_watch(*, now=None) -> list[Gate]:
    """Judge the rollback triggers of every live rollout stage: a failing one marks the stage
    'rollback recommended' (once, telling its managers and approvers); when all hold again
    the mark is cleared. Returns the stages newly marked."""
    now = now or timezone.now()
    marked = []
    for stage in live_rollout_stages():
        evaluation = evaluate_gate(stage)
        triggers = {c.pk for c in stage.criteria.filter(rollback=True)}
        failing = [
            c for c in evaluation.criteria if c.criterion_id in triggers and c.result != "met"
        ]
        with transaction.atomic():
            gate = _locked(stage)
            if failing and not gate.rollback_recommended_at:
                reason = "; ".join(f"{c.text} ({c.evidence})" for c in failing)
                Gate.objects.filter(pk=gate.pk).update(
                    rollback_recommended_at=now, rollback_reason=reason
                )
                _audit(
                    gate,
                    actor=None,
                    action=AuditAction.ROLLBACK_RECOMMENDED,
                    after={"reason": reason},
                    at=now,
                )
                notification_services.notify(
                    users=[
                        *policy.required_approvers(gate),
                        *project_selectors.project_managers(project=gate.project),
                    ],
                    kind=NotificationKind.ROLLBACK_RECOMMENDED,
                    title=f"{gate.project.code} {gate.name}: rollback recommended",
                    body=reason,
                    url=reverse("gate-detail", args=[gate.pk]),
                    dedupe_key=f"rollback:{gate.pk}:{now.isoformat()}",
                )
                marked.append(gate)
            elif not failing and gate.rollback_recommended_at:
                Gate.objects.filter(pk=gate.pk).update(
                    rollback_recommended_at=None, rollback_reason=""
                )
                _audit(
                    gate,
                    actor=None,
                    action=AuditAction.ROLLBACK_CLEARED,
                    before={"reason": gate.rollback_reason},
                    at=now,
                )
    return marked


@transaction.atomic
def gate_criterion_attest(*, criterion, by) -> None:
    """A person vouches for a manual criterion: their name and the time become its evidence."""
    gate = _locked(criterion.gate)
    if gate.state not in (GateState.DRAFT, GateState.OPEN):
        raise GateRefused("Only a draft or open gate's criteria can be attested.")
    if criterion.kind != "manual":
        raise GateRefused("Only a manual criterion is attested; the others are judged on data.")
    if criterion.attested_at:
        raise GateRefused("This criterion is already attested.")
    now = timezone.now()
    type(criterion).objects.filter(pk=criterion.pk).update(attested_by=by, attested_at=now)
    _audit(
        gate,
        actor=by,
        action=AuditAction.ATTESTED,
        after={"criterion": criterion.pk, "text": criterion.text},
        at=now,
    )
