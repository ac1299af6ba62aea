"""Who may see and change a risk: the project's members, by their role on it."""

from django.db.models import QuerySet

from projects import policy as project_policy
from projects.policy import Action, User
from risks.models import Risk


def can_view_risk(user: User, risk: Risk) -> bool:
    return project_policy.can(user, risk.project, Action.VIEW)


def can_edit_risk(user: User, risk: Risk) -> bool:
    return project_policy.can(user, risk.project, Action.EDIT)


def visible_risks(user: User) -> QuerySet[Risk]:
    return Risk.objects.filter(project__in=project_policy.visible_projects(user))
