"""Who may see, set up and sign a gate.

Members see a project's gates; managers set them up; only a required approver signs: a user
named on the gate, or a member holding the role the gate asks for.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from gates.models import Gate, GateApprover, GateState
from projects import policy as project_policy
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


def is_required_approver(user: User, gate: Gate) -> bool:
    if not can_view_gate(user, gate):
        return False
    roles = project_policy.project_roles(user, gate.project)
    return GateApprover.objects.filter(
        Q(user_id=user.pk) | Q(role__in=roles, user__isnull=True), gate=gate
    ).exists()


def can_sign_gate(user: User, gate: Gate) -> bool:
    return gate.state == GateState.OPEN and is_required_approver(user, gate)


def visible_gates(user: User) -> QuerySet[Gate]:
    return Gate.objects.filter(project__in=project_policy.visible_projects(user))


def get_gate_for(user: User, pk: int, action: Action = Action.VIEW) -> Gate:
    """The gate `pk` if `user` may do `action` on its project (signing is decided by
    `gates.services`): 404 if they may not see it, else 403."""
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
