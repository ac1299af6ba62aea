"""Who may see and change a risk: the project's members, by their role on it."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from projects import policy as project_policy
from projects.policy import Action, User
from risks.models import MitigationAction, Risk


def visible_risks(user: User) -> QuerySet[Risk]:
    return Risk.objects.filter(project__in=project_policy.visible_projects(user))


def get_risk_for(user: User, pk: int, action: Action = Action.VIEW) -> Risk:
    """The risk `pk` if `user` may do `action` on its project: 404 if they may not see it,
    else 403."""
    risk = (
        Risk.objects.select_related("project__programme", "owner")
        .filter(pk=pk, project__in=project_policy.visible_projects(user))
        .first()
    )
    if risk is None:
        raise Http404("No such risk.")
    if not project_policy.can(user, risk.project, action):
        raise PermissionDenied(f"You may not {action} this risk.")
    return risk


def get_action_for(user: User, pk: int, action: Action = Action.EDIT) -> MitigationAction:
    mitigation = (
        MitigationAction.objects.select_related("risk__project")
        .filter(pk=pk, risk__project__in=project_policy.visible_projects(user))
        .first()
    )
    if mitigation is None:
        raise Http404("No such mitigation action.")
    if not project_policy.can(user, mitigation.risk.project, action):
        raise PermissionDenied(f"You may not {action} this mitigation action.")
    return mitigation
