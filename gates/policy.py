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

from gates.models import (
    ApproverGroup,
    AuditAction,
    CriterionKind,
    Gate,
    GateApprover,
    GateCondition,
    GateDelegation,
    GateState,
    SignOff,
)
from projects import policy as project_policy
from projects.models import ChecklistItem, Membership
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


def _slot_holders(gates: list[Gate]) -> dict[int, dict[int, set[int]]]:
    """Per gate, per approver slot, the ids of the people who may fill it: the active user
    named on the slot, or the active members holding the role it asks for on the gate's
    project or programme. Two queries for any number of gates (each with its project)."""
    holders: dict[int, dict[int, set[int]]] = {gate.pk: {} for gate in gates}
    by_role: dict[int, list[tuple[int, str]]] = {gate.pk: [] for gate in gates}
    for slot_id, gate_id, user_id, role, active in GateApprover.objects.filter(
        gate__in=gates
    ).values_list("pk", "gate_id", "user_id", "role", "user__is_active"):
        holders[gate_id][slot_id] = {user_id} if user_id and active else set()
        if not user_id and role:
            by_role[gate_id].append((slot_id, role))
    wanted = {role for slots in by_role.values() for _, role in slots}
    if wanted:
        members = list(
            Membership.objects.filter(role__in=wanted, user__is_active=True)
            .filter(
                Q(project_id__in={gate.project_id for gate in gates if by_role[gate.pk]})
                | Q(
                    programme_id__in={
                        gate.project.programme_id for gate in gates if by_role[gate.pk]
                    }
                )
            )
            .values_list("user_id", "role", "project_id", "programme_id")
        )
        for gate in gates:
            for slot_id, wanted_role in by_role[gate.pk]:
                holders[gate.pk][slot_id] = {
                    user_id
                    for user_id, role, project_id, programme_id in members
                    if role == wanted_role
                    and (project_id == gate.project_id or programme_id == gate.project.programme_id)
                }
    return holders


def _approver_ids(gates: list[Gate]) -> dict[int, set[int]]:
    """Per gate, the ids of everyone who may fill one of its slots."""
    return {
        gate_id: set().union(*slots.values()) if slots else set()
        for gate_id, slots in _slot_holders(gates).items()
    }


def slot_holders(gate: Gate) -> dict[int, set[int]]:
    """Per approver slot of `gate`, the ids of the people who may fill it."""
    return _slot_holders([gate])[gate.pk]


def fill_slots(holders: dict[int, set[int]], people) -> dict[int, int]:
    """Slots are people: the largest assignment of `people` (ids) to the slots each may fill,
    one person to at most one slot and one slot to at most one person, as {slot: person}.
    Whoever signs first, the assignment is the best possible one (augmenting paths), so that
    "all" over two role slots needs two different people and no early signer blocks a later
    one who could only fill the slot the first took."""
    people = set(people)
    filled: dict[int, int] = {}  # slot -> person

    def place(person: int, tried: set[int]) -> bool:
        for slot, eligible in holders.items():
            if person in eligible and slot not in tried:
                tried.add(slot)
                if slot not in filled or place(filled[slot], tried):
                    filled[slot] = person
                    return True
        return False

    for person in sorted(people):
        place(person, set())
    return filled


def required_approvers(gate: Gate) -> list:
    """Everyone who may fill one of the gate's slots (active users named on it, and active
    members holding a role it asks for), by id."""
    ids = _approver_ids([gate])[gate.pk]
    return list(get_user_model().objects.filter(pk__in=ids).order_by("pk")) if ids else []


def unfillable_slots(holders: dict[int, set[int]], *, barred=()) -> int:
    """How many of the slots no assignment of distinct people can fill: a slot nobody holds
    (but those `barred` from approving, their own work), or two slots only the same person
    could fill."""
    barred = set(barred)
    holders = {slot: people - barred for slot, people in holders.items()}
    everyone = set().union(*holders.values()) if holders else set()
    return len(holders) - len(fill_slots(holders, everyone))


def own_work(gate: Gate) -> dict[int, str]:
    """Who may not approve `gate` because it is their own work, each with why, in words:
    whoever opened it or changed its criteria, attested one of its criteria, or owns an item
    of a checklist one of its criteria judges. They may still reject it. Three queries."""
    why: dict[int, str] = {}
    actions = {
        AuditAction.OPENED: "you opened it for sign-off",
        AuditAction.CRITERION_CHANGED: "you changed its criteria",
    }
    for actor_id, action in (
        gate.audit_entries.filter(action__in=actions, actor__isnull=False)
        .order_by("sequence")
        .values_list("actor_id", "action")
    ):
        why.setdefault(actor_id, actions[action])
    phases = set()
    for kind, attested_by, phase_id in gate.criteria.values_list(
        "kind", "attested_by_id", "phase_id"
    ):
        if attested_by:
            why.setdefault(attested_by, "you attested one of its criteria")
        if kind == CriterionKind.CHECKLIST and phase_id:
            phases.add(phase_id)
    if phases:
        for owner_id in (
            ChecklistItem.objects.filter(
                phase_id__in=phases, deleted_at__isnull=True, owner__isnull=False
            )
            .values_list("owner_id", flat=True)
            .distinct()
        ):
            why.setdefault(owner_id, "you own items of a checklist it judges")
    return why


def slots_with_groups(gate: Gate) -> list[GateApprover]:
    """The gate's approver slots, each with its group."""
    return list(gate.approvers.select_related("group", "user").order_by("pk"))


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


def visible_approver_groups(user: User) -> QuerySet[ApproverGroup]:
    return ApproverGroup.objects.filter(gate__in=visible_gates(user))


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
