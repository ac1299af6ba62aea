"""Reads of KPIs that pages share."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from metrics.models import KPI, KPICategory, KPIKind, Measurement, MetricSource
from projects.models import Project

MAX_CHART_POINTS = 1500


def kpi_list_for_project(*, project: Project) -> QuerySet[KPI]:
    """The project's KPIs with their phase, their active source (`active_sources`) and their
    latest value and its time (`latest_value`, `latest_at`)."""
    active_sources = Prefetch(
        "sources", queryset=MetricSource.objects.filter(is_active=True), to_attr="active_sources"
    )
    newest = Measurement.objects.filter(kpi=OuterRef("pk")).order_by("-at")
    return (
        KPI.objects.filter(project=project)
        .select_related("phase", "owner")
        .prefetch_related(active_sources)
        .annotate(
            latest_value=Subquery(newest.values("value")[:1]),
            latest_at=Subquery(newest.values("at")[:1]),
        )
        .order_by("category", "kind", "name")
    )


@dataclass(frozen=True)
class KPIGroup:
    kind: str
    kind_label: str
    categories: list[tuple[str, list[KPI]]]


def kpis_grouped(kpis) -> list[KPIGroup]:
    """Leading, lagging and counter-metrics, each by category, as the plans group them."""
    groups = []
    for kind, kind_label in KPIKind.choices:
        categories = []
        for category, category_label in KPICategory.choices:
            members = [k for k in kpis if k.kind == kind and k.category == category]
            if members:
                categories.append((category_label, members))
        if categories:
            groups.append(KPIGroup(kind, kind_label, categories))
    return groups


def kpi_series(*, kpi: KPI, since: datetime | None = None) -> list[tuple[datetime, float, bool]]:
    """(at, value, partial) oldest first, thinned to at most MAX_CHART_POINTS by keeping the
    lowest and highest value of each time bucket, so spikes and breaches stay visible."""
    rows = Measurement.objects.filter(kpi=kpi)
    if since:
        rows = rows.filter(at__gte=since)
    total = rows.count()
    rows = rows.order_by("at").values_list("at", "value", "partial")
    if total <= MAX_CHART_POINTS:
        return list(rows)
    bucket_size = -(-total // (MAX_CHART_POINTS // 2))
    series, bucket = [], []
    for row in rows.iterator(chunk_size=5000):
        bucket.append(row)
        if len(bucket) == bucket_size:
            series.extend(_extremes(bucket))
            bucket = []
    if bucket:
        series.extend(_extremes(bucket))
    return series


def _extremes(bucket):
    low = min(bucket, key=lambda row: row[1])
    high = max(bucket, key=lambda row: row[1])
    return sorted({low, high}, key=lambda row: row[0])


def kpi_detail(*, kpi_id: int) -> KPI:
    return (
        KPI.objects.select_related("project", "phase", "owner")
        .prefetch_related(
            Prefetch("sources", queryset=MetricSource.objects.order_by("-is_active", "-pk"))
        )
        .get(pk=kpi_id)
    )


def recent_measurements(*, kpi: KPI, limit: int = 20):
    return list(
        Measurement.objects.filter(kpi=kpi)
        .select_related("recorded_by", "source")
        .order_by("-at")[:limit]
    )
