"""Reads of the risk register that pages share."""

from django.db.models import QuerySet

from projects.models import Project
from risks.models import Risk, RiskStatus

OPEN_STATUSES = (RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.OCCURRED)


def risk_list_for_project(*, project: Project) -> QuerySet[Risk]:
    """The project's risks, highest score first."""
    return Risk.objects.filter(project=project).select_related("owner").order_by("-score", "key")
