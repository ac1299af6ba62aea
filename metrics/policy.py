"""Who may see and change KPIs, their sources and measurements: the project's members."""

from django.db.models import QuerySet

from metrics.models import KPI
from projects import policy as project_policy
from projects.policy import Action, User


def can_view_kpi(user: User, kpi: KPI) -> bool:
    return project_policy.can(user, kpi.project, Action.VIEW)


def can_edit_kpi(user: User, kpi: KPI) -> bool:
    """Edit the KPI, its source, or enter a value by hand."""
    return project_policy.can(user, kpi.project, Action.EDIT)


def visible_kpis(user: User) -> QuerySet[KPI]:
    return KPI.objects.filter(project__in=project_policy.visible_projects(user))
