"""Who may see and change KPIs, their sources and measurements: the project's members."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from metrics.models import KPI
from projects import policy as project_policy
from projects.policy import Action, User


def can_edit_kpi(user: User, kpi: KPI) -> bool:
    """Edit the KPI, its source, or enter a value by hand."""
    return project_policy.can(user, kpi.project, Action.EDIT)


def visible_kpis(user: User) -> QuerySet[KPI]:
    return KPI.objects.filter(project__in=project_policy.visible_projects(user))


def get_kpi_for(user: User, pk: int, action: Action = Action.VIEW) -> KPI:
    """The KPI `pk` if `user` may do `action` on its project: 404 if they may not see it,
    else 403."""
    kpi = (
        KPI.objects.select_related("project__programme")
        .filter(pk=pk, project__in=project_policy.visible_projects(user))
        .first()
    )
    if kpi is None:
        raise Http404("No such KPI.")
    if not project_policy.can(user, kpi.project, action):
        raise PermissionDenied(f"You may not {action} this KPI.")
    return kpi
