"""Reads of KPIs that pages share."""

from django.db.models import Prefetch, QuerySet

from metrics.models import KPI, MetricSource
from projects.models import Project


def kpi_list_for_project(*, project: Project) -> QuerySet[KPI]:
    """The project's KPIs with their phase and, as `active_sources`, their active source."""
    active_sources = Prefetch(
        "sources", queryset=MetricSource.objects.filter(is_active=True), to_attr="active_sources"
    )
    return (
        KPI.objects.filter(project=project)
        .select_related("phase", "owner")
        .prefetch_related(active_sources)
        .order_by("category", "kind", "name")
    )
