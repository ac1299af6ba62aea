"""Gates: opening, signing, deciding, and the append-only, hash-chained audit trail."""

import hashlib
import json

from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.people import display_name
from core.request_context import security_event
from gates import conditions as tracked_conditions
from gates import evidence, integrity, policy, rules
from gates.evaluation import Result, evaluate_gate
from gates.models import (
    OVERRIDDEN_RECOMMENDATIONS,
    ApproverGroup,
    AuditAction,
    Decision,
    Gate,
    GateApprover,
    GateAuditEntry,
    GateCriterion,
    GateDelegation,
    GateKind,
    GateState,
    Recommendation,
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


def _entry_hash(entry: GateAuditEntry) -> str:
    return hashlib.sha256(
        evidence.canonical(
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
        before=json.loads(evidence.canonical(before or {})),
        after=json.loads(evidence.canonical(after or {})),
        previous_hash=last.entry_hash if last else GENESIS,
    )
    entry.entry_hash = _entry_hash(entry)
    entry.save()
    # The gate keeps the head of its chain, so that losing the latest entries shows too.
    Gate.objects.filter(pk=gate.pk).update(audit_head=entry.entry_hash)
    integrity.gate_audit_checkpoint_on_commit(gate.pk)
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
    and leave no gap in the sequence; then hold it against its signatures, the gate's
    decision and the checkpoints kept outside the database (gates.integrity)."""
    return integrity.gate_trail_verify(gate=gate, entry_hash=_entry_hash, genesis=GENESIS)


# What is signed: the evidence pack (gates.evidence)


def gate_current_hash(gate: Gate) -> str:
    """The hash of the gate's evidence as it stands now."""
    return evidence.pack_hash(evidence.evidence_pack(gate))


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
    request,
    evidence_token: str = "",
    seen_hash: str = "",
    comment: str = "",
    conditions: str = "",
    override_reason: str = "",
) -> SignOff:
    """Sign `gate` for `signer`, who proves it is them with their password, on the evidence
    they were shown: `evidence_token` as the page or the API handed it out (or, failing that,
    `seen_hash`, which must be the hash of the evidence as it stands now). `request` is the
    HTTP request, for the login lockout, which a wrong password counts towards.

    Refused, changing nothing, if the gate is not open, the signer is not a required approver
    or signed already, the password is wrong, a verdict, the recommendation or the gate's
    definition changed since they were shown it (the message says which), or they approve
    against a NO-GO or INCONCLUSIVE recommendation without a reason. May decide the gate."""
    # Checked before the transaction, so that a failed attempt is kept for the lockout.
    if authenticate(request, username=signer.get_username(), password=password) != signer:
        security_event("signature_refused", gate=gate.pk, signer=signer.get_username())
        raise PasswordRefused("The password is not correct; nothing was signed.")
    signoff = _sign(
        gate=gate,
        signer=signer,
        decision=decision,
        evidence_token=evidence_token,
        seen_hash=seen_hash,
        comment=comment,
        conditions=conditions,
        override_reason=override_reason,
    )
    security_event(
        "gate_signed",
        gate=gate.pk,
        signoff=signoff.pk,
        signer=signer.get_username(),
        decision=decision,
    )
    return signoff


def _shown_pack(gate: Gate, *, evidence_token: str, seen_hash: str, current: dict) -> dict:
    """The evidence the signer was shown: the pack the token carries, or the current one if
    `seen_hash` names it."""
    if evidence_token:
        try:
            return evidence.pack_from_token(evidence_token, gate)
        except evidence.EvidenceRefused as refused:
            raise GateRefused(str(refused)) from None
    if seen_hash and seen_hash == evidence.pack_hash(current):
        return current
    raise GateRefused(
        "The gate's evidence changed since it was read (or none was sent with the signature); "
        "read the gate again and sign with the evidence it gives you."
    )


def _changes_message(changes: list[str]) -> str:
    return (
        "Since the gate was shown to you, "
        + "; ".join(changes)
        + ". Review it again and sign what you see now."
    )


@transaction.atomic
def _sign(
    *, gate, signer, decision, evidence_token, seen_hash, comment, conditions, override_reason
) -> SignOff:
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
        raise GateRefused(f"{display_name(represented)} has already signed this gate.")
    if decision not in SignOffDecision.values:
        raise GateRefused("Choose approve, reject, or approve with conditions.")
    if decision == SignOffDecision.APPROVE_WITH_CONDITIONS and not conditions.strip():
        raise GateRefused("Approving with conditions needs the conditions.")
    current = evidence.evidence_pack(gate)
    shown = _shown_pack(gate, evidence_token=evidence_token, seen_hash=seen_hash, current=current)
    changes = evidence.decisive_changes(shown, current)
    if changes:
        raise GateRefused(_changes_message(changes))
    approving = decision != SignOffDecision.REJECT
    if approving:
        barred = policy.own_work(gate)
        for person in {signer.pk, represented.pk}:
            if person in barred:
                whose = "you" if person == signer.pk else display_name(represented)
                reason = barred[person]
                if whose != "you":
                    reason = reason.replace("you ", f"{whose} ", 1)
                raise GateRefused(
                    f"Nobody approves their own work, and {reason}: you may reject this gate, "
                    "not approve it."
                )
    advice = Recommendation(shown["recommendation"])
    override_reason = override_reason.strip()
    if approving and advice in OVERRIDDEN_RECOMMENDATIONS and not override_reason:
        raise GateRefused(
            f"The recommendation is {advice.label}: approving against it needs your reason, "
            "which is recorded with your signature and shown to the project's managers."
        )
    if not (approving and advice in OVERRIDDEN_RECOMMENDATIONS):
        override_reason = ""  # only an approval against the advice is an override
    pack = evidence.pack_store(gate, shown)
    try:
        with transaction.atomic():
            signoff = SignOff.objects.create(
                gate=gate,
                signer=signer,
                decision=decision,
                conditions=conditions.strip(),
                comment=comment.strip(),
                signed_at=timezone.now(),
                content_hash=pack.content_hash,
                evidence=pack,
                on_behalf_of=on_behalf_of,
                override_reason=override_reason,
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
            "content_hash": pack.content_hash,
            "recommendation": advice.value,
            "conditions": signoff.conditions,
            "override_reason": override_reason,
        },
    )
    if override_reason:
        _notify_override(gate, signoff, advice)
    _decide_if_due(gate, by=signer)
    return signoff


def _notify_override(gate: Gate, signoff: SignOff, advice: Recommendation) -> None:
    who = display_name(signoff.on_behalf_of or signoff.signer)
    notification_services.notify(
        users=project_selectors.project_managers(project=gate.project),
        kind=NotificationKind.GATE_OVERRIDDEN,
        title=f"{gate.project.code} {gate.name}: approved against {advice.label}",
        body=f"{who} approved against the {advice.label} recommendation: {signoff.override_reason}",
        url=reverse("gate-detail", args=[gate.pk]),
        dedupe_key=f"gate-override:{signoff.pk}",
    )


def _decide_if_due(gate: Gate, *, by) -> Decision | None:
    """Decide the gate once its rule is met (`gates.rules`): GO when its own approvers and
    every further group agree, NO-GO once a group is vetoed or can no longer agree. Returns
    the decision, if one was made now."""
    holders = policy.slot_holders(gate)
    valid = list(gate.signoffs.filter(invalidated_at__isnull=True).select_related("evidence"))
    approvals = [s for s in valid if s.decision != SignOffDecision.REJECT]
    rejections = [s for s in valid if s.decision == SignOffDecision.REJECT]
    standings = rules.standing(
        rules.groups_of(gate, policy.slots_with_groups(gate)),
        holders,
        approving={s.on_behalf_of_id or s.signer_id for s in approvals},
        rejecting={s.on_behalf_of_id or s.signer_id for s in rejections},
        barred=set(policy.own_work(gate)),
        fill_slots=policy.fill_slots,
    )
    outcome = rules.outcome(standings)
    if outcome is None:
        return None
    if outcome == Decision.GO and any(
        s.decision == SignOffDecision.APPROVE_WITH_CONDITIONS for s in approvals
    ):
        outcome = Decision.CONDITIONAL_GO
    now = timezone.now()
    overrides = [s for s in approvals if s.override_reason] if outcome != Decision.NO_GO else []
    against = overridden_recommendation(overrides)
    override_reason = "; ".join(
        f"{display_name(s.on_behalf_of or s.signer)}: {s.override_reason}" for s in overrides
    )
    decided = Gate.objects.filter(pk=gate.pk, state=GateState.OPEN).update(
        state=GateState.DECIDED,
        decision=outcome,
        decided_at=now,
        overridden_recommendation=against,
        override_reason=override_reason,
    )
    if not decided:
        return None  # someone else decided it: a gate is decided once
    conditions = [s.conditions for s in approvals if s.conditions]
    _audit(
        gate,
        actor=by,
        action=AuditAction.DECIDED,
        before={"state": GateState.OPEN},
        after={
            "state": GateState.DECIDED,
            "decision": outcome,
            "conditions": conditions,
            "overridden_recommendation": against,
            "override_reason": override_reason,
        },
        at=now,
    )
    if outcome == Decision.CONDITIONAL_GO:
        tracked_conditions.gate_conditions_record(
            gate=gate, signoffs=[s for s in approvals if s.conditions], by=by, at=now
        )
    label = Decision(outcome).label
    notification_services.notify(
        users=[
            *policy.required_approvers(gate),
            *project_selectors.project_managers(project=gate.project),
        ],
        kind=NotificationKind.GATE_DECIDED,
        title=f"{gate.project.code} {gate.name}: {label}",
        body="Conditions: " + "; ".join(conditions) if conditions else f"Decided {label}.",
        url=reverse("gate-detail", args=[gate.pk]),
        dedupe_key=f"gate-decided:{gate.pk}",
    )
    return outcome


def overridden_recommendation(overrides: list[SignOff]) -> str:
    """The advice a decision went against: NO-GO if any overriding signer was shown NO-GO,
    else INCONCLUSIVE; "" without overrides."""
    shown = {s.evidence.content["recommendation"] for s in overrides if s.evidence_id}
    for advice in OVERRIDDEN_RECOMMENDATIONS:
        if advice in shown:
            return advice
    return ""


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
def gate_definition_save(
    *, row: GateCriterion | GateApprover | ApproverGroup, by
) -> GateCriterion | GateApprover | ApproverGroup:
    """Save a criterion, an approver or an approver group of a draft or open gate (new or
    changed), validated as a form would be, under the gate's lock; the change goes into the
    gate's trail and invalidates signatures given on the old definition."""
    _definition_locked(row.gate)
    before = _described(type(row).objects.get(pk=row.pk)) if row.pk else {}
    row.full_clean()
    row.save()
    gate_definition_changed(
        gate=row.gate, by=by, action=_definition_action(row), before=before, after=_described(row)
    )
    return row


@transaction.atomic
def gate_definition_delete(*, row: GateCriterion | GateApprover | ApproverGroup, by) -> None:
    """Remove a criterion, an approver or an approver group from its draft or open gate,
    recorded as a change of definition. A group goes only once it has no approvers."""
    gate = _definition_locked(row.gate)
    if isinstance(row, ApproverGroup) and row.slots.exists():
        raise GateRefused(
            f"The group {row.name} still has approvers: move them to another group or remove "
            "them first."
        )
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
    the mark is cleared. Either only once the verdict has held as the KPI's confirmation
    asks. Returns the stages newly marked."""
    now = now or timezone.now()
    marked = []
    for stage in live_rollout_stages():
        evaluation = evaluate_gate(stage, now=now)
        triggers = {c.pk for c in stage.criteria.filter(rollback=True)}
        judged = [c for c in evaluation.criteria if c.criterion_id in triggers]
        # Only a verdict that has held moves the mark: a value swinging across a threshold
        # and back neither recommends a rollback nor clears one.
        failing = [
            c for c in judged if c.result in (Result.NOT_MET, Result.CONDITIONAL) and c.confirmed
        ]
        settling = any(not c.confirmed for c in judged)
        unjudged = "; ".join(
            f"{c.text} ({c.evidence})" for c in judged if c.result == Result.INCONCLUSIVE
        )
        with transaction.atomic():
            gate = _locked(stage)
            if gate.rollback_unjudged != unjudged:
                # A trigger that cannot be judged is no reason to roll back, nor a pass: the
                # stage says so until a fresh value judges it.
                Gate.objects.filter(pk=gate.pk).update(rollback_unjudged=unjudged)
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
            elif not failing and not settling and gate.rollback_recommended_at:
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
