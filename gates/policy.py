"""Who may see, set up and sign a gate.

Members see a project's gates; managers set them up; only a required approver signs (a user
named on the gate, or a member holding the role the gate asks for), or the member they
delegated their signature to, for as long as the delegation lasts. The conditions of a
CONDITIONAL GO are given their owner and due date by the project's managers, and marked met by
their owner or a manager.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from gates.models import Gate, GateApprover, GateCondition, GateDelegation, GateState, SignOff
from projects import policy as project_policy
from projects.models import Membership
from projects.policy import Action, User


def can_view_gate(user: User, gate: Gate) -> bool:
    return project_policy.can(user, gate.project, Action.VIEW)


def can_manage_gate(user: User, gate: Gate) -> bool:
    return project_policy.can(user, gate.project, Action.MANAGE)


# Criteria and approvers change only while the gate is a draft or open: once decided or
# cancelled they are part of its record.
DEFINITION_OPEN_STATES = (GateState.DRAFT, GateState.OPEN)


def definition_is_open(gate: Gate) -> bool:
    return gate.state in DEFINITION_OPEN_STATES


# Signing: who is a required approver, who signs for whom, and whether they may sign now.
# Services, views and selectors all ask here; the rules below are the ones signing enforces.


def _approver_ids(gates: list[Gate]) -> dict[int, set[int]]:
    """Per gate, the ids of its required approvers: active users named on it, and active
    members holding a role it asks for on its project or programme. Two queries for any number
    of gates (each gate with its project loaded)."""
    ids: dict[int, set[int]] = {gate.pk: set() for gate in gates}
    roles: dict[int, set[str]] = {gate.pk: set() for gate in gates}
    for gate_id, user_id, role, active in GateApprover.objects.filter(gate__in=gates).values_list(
        "gate_id", "user_id", "role", "user__is_active"
    ):
        if user_id:
            if active:
                ids[gate_id].add(user_id)
        elif role:
            roles[gate_id].add(role)
    wanted = set().union(*roles.values())
    if wanted:
        members = list(
            Membership.objects.filter(role__in=wanted, user__is_active=True)
            .filter(
                Q(project_id__in={gate.project_id for gate in gates if roles[gate.pk]})
                | Q(
                    programme_id__in={gate.project.programme_id for gate in gates if roles[gate.pk]}
                )
            )
            .values_list("user_id", "role", "project_id", "programme_id")
        )
        for gate in gates:
            ids[gate.pk] |= {
                user_id
                for user_id, role, project_id, programme_id in members
                if role in roles[gate.pk]
                and (project_id == gate.project_id or programme_id == gate.project.programme_id)
            }
    return ids


def required_approvers(gate: Gate) -> list:
    """Every user whose signature the gate asks for: users named on it, and members holding a
    role it asks for (active users only), by id."""
    ids = _approver_ids([gate])[gate.pk]
    return list(get_user_model().objects.filter(pk__in=ids).order_by("pk")) if ids else []


def _active_delegations(user: User, *, gates, now=None) -> QuerySet[GateDelegation]:
    now = now or timezone.now()
    return GateDelegation.objects.filter(
        gate__in=gates, delegate_id=user.pk, starts_at__lte=now, ends_at__gt=now
    ).order_by("gate_id", "-starts_at", "-pk")


def active_delegation(gate: Gate, user: User, now=None) -> GateDelegation | None:
    """The delegation that names `user` to sign `gate` now (the newest, if several)."""
    if not user.is_authenticated:
        return None
    return _active_delegations(user, gates=[gate], now=now).select_related("delegator").first()


def _signing_for(user: User, gates: list[Gate]) -> dict[int, int]:
    """Per gate (of `gates`) that `user` may sign for someone, whom they sign for: themselves
    if they are a required approver, else the required approver whose delegation names them
    now; only in projects they may see. Whether the gate is open is not asked here."""
    if not (gates and user.is_active and user.is_authenticated):
        return {}
    approvers = _approver_ids(gates)
    delegators: dict[int, int] = {}
    for gate_id, delegator_id in _active_delegations(user, gates=gates).values_list(
        "gate_id", "delegator_id"
    ):
        delegators.setdefault(gate_id, delegator_id)  # the newest delegation counts
    visible = set(
        project_policy.visible_projects(user)
        .filter(pk__in={gate.project_id for gate in gates})
        .values_list("pk", flat=True)
    )
    signing = {}
    for gate in gates:
        if gate.project_id not in visible:
            continue
        if user.pk in approvers[gate.pk]:
            signing[gate.pk] = user.pk
        elif delegators.get(gate.pk) in approvers[gate.pk]:
            signing[gate.pk] = delegators[gate.pk]
    return signing


def _signed(gates: list[Gate]) -> set[tuple[int, int]]:
    """(gate id, approver id) for every valid signature, given in person or by a delegate."""
    signed = set()
    for gate_id, signer_id, on_behalf_of_id in SignOff.objects.filter(
        gate__in=gates, invalidated_at__isnull=True
    ).values_list("gate_id", "signer_id", "on_behalf_of_id"):
        signed.add((gate_id, signer_id))
        if on_behalf_of_id:
            signed.add((gate_id, on_behalf_of_id))
    return signed


def signs_for(user: User, gate: Gate):
    """The required approver `user` signs `gate` for (themselves, or whoever delegated to
    them), or None if they may not sign it at all, whatever its state."""
    represented = _signing_for(user, [gate]).get(gate.pk)
    if represented is None:
        return None
    return user if represented == user.pk else get_user_model().objects.get(pk=represented)


def has_signed(gate: Gate, approver) -> bool:
    """Has `approver` a valid signature on `gate`, given in person or by their delegate?"""
    return (gate.pk, approver.pk) in _signed([gate])


def signable(user: User, gates) -> list[Gate]:
    """Those of `gates` that `user` may sign now: open, theirs to sign (in person or by
    delegation), and not yet signed for the approver they represent. A constant number of
    queries for any number of gates."""
    gates = [gate for gate in gates if gate.state == GateState.OPEN]
    signing = _signing_for(user, gates)
    signed = _signed([gate for gate in gates if gate.pk in signing])
    return [
        gate for gate in gates if gate.pk in signing and (gate.pk, signing[gate.pk]) not in signed
    ]


def can_sign(user: User, gate: Gate) -> bool:
    """May `user` sign `gate` now? (See `signable`.)"""
    return bool(signable(user, [gate]))


def visible_gates(user: User) -> QuerySet[Gate]:
    return Gate.objects.filter(project__in=project_policy.visible_projects(user))


def get_gate_for(user: User, pk: int, action: Action = Action.VIEW) -> Gate:
    """The gate `pk` if `user` may do `action` on its project (signing is decided by
    `can_sign`): 404 if they may not see it, else 403."""
    gate = (
        Gate.objects.select_related("project__programme", "phase")
        .filter(pk=pk, project__in=project_policy.visible_projects(user))
        .first()
    )
    if gate is None:
        raise Http404("No such gate.")
    if not project_policy.can(user, gate.project, action):
        raise PermissionDenied(f"You may not {action} this gate.")
    return gate


# The conditions of a CONDITIONAL GO.


def can_manage_conditions(user: User, gate: Gate) -> bool:
    """Give the gate's conditions an owner and a due date: the project's managers."""
    return can_manage_gate(user, gate)


def conditions_to_meet(user: User, gate: Gate, conditions) -> set[int]:
    """The ids of those of `conditions` (all of `gate`) that `user` may mark met: every one for
    a manager of the project, the ones they own for another member."""
    if can_manage_gate(user, gate):
        return {condition.pk for condition in conditions}
    if not can_view_gate(user, gate):
        return set()
    return {condition.pk for condition in conditions if condition.owner_id == user.pk}


def can_meet_condition(user: User, condition: GateCondition) -> bool:
    return condition.pk in conditions_to_meet(user, condition.gate, [condition])


def get_condition_for(user: User, pk: int, action: Action = Action.VIEW) -> GateCondition:
    """The condition `pk` if `user` may do `action` on its project: 404 if they may not see
    it, else 403."""
    condition = (
        GateCondition.objects.select_related("gate__project__programme", "gate__phase", "owner")
        .filter(pk=pk, gate__project__in=project_policy.visible_projects(user))
        .first()
    )
    if condition is None:
        raise Http404("No such condition.")
    if not project_policy.can(user, condition.gate.project, action):
        raise PermissionDenied(f"You may not {action} this condition.")
    return condition


def get_condition_to_meet(user: User, pk: int) -> GateCondition:
    """The condition `pk` if `user` may mark it met: 404 if they may not see it, 403 if they
    neither own it nor manage the project."""
    condition = get_condition_for(user, pk)
    if not can_meet_condition(user, condition):
        raise PermissionDenied(
            "Only the condition's owner or a manager of the project marks it met."
        )
    return condition
