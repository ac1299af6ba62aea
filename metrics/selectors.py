"""Reads of KPIs that pages share."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import (
    Avg,
    BigIntegerField,
    Case,
    Count,
    Exists,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from metrics import charts, status
from metrics.facts import KPIFact, Reading
from metrics.models import (
    KPI,
    KPICategory,
    KPIKind,
    KPIPin,
    KPIStatus,
    Measurement,
    MeasurementHour,
    MetricSource,
    SourceKind,
)
from projects.models import Project


def kpis_with_latest(kpis: QuerySet[KPI]) -> QuerySet[KPI]:
    """`kpis` with their newest measurement's `latest_value` and `latest_at`, each read from
    the (kpi, at) index: the one way a KPI's latest value is read, for any number of KPIs in
    the same query."""
    newest = Measurement.objects.filter(kpi=OuterRef("pk")).order_by("-at")
    return kpis.annotate(
        latest_value=Subquery(newest.values("value")[:1]),
        latest_at=Subquery(newest.values("at")[:1]),
    )


def kpi_list_for_project(*, project: Project) -> QuerySet[KPI]:
    """The project's KPIs with their phase, their active source (`active_sources`) and their
    latest value and its time (`latest_value`, `latest_at`)."""
    active_sources = Prefetch(
        "sources", queryset=MetricSource.objects.filter(is_active=True), to_attr="active_sources"
    )
    return (
        kpis_with_latest(KPI.objects.filter(project=project))
        .select_related("phase", "owner")
        .prefetch_related(active_sources)
        .order_by("category", "kind", "name")
    )


def kpi_latest_values(*, kpi_ids) -> dict[int, tuple[datetime, float]]:
    """Per KPI id, its newest measurement's time and value: one query, each KPI's newest row
    read from the (kpi, at) index, however long its series."""
    rows = (
        kpis_with_latest(KPI.objects.filter(pk__in=kpi_ids))
        .filter(latest_at__isnull=False)
        .values_list("pk", "latest_at", "latest_value")
    )
    return {pk: (at, value) for pk, at, value in rows}


def kpi_latest_readings(*, kpis, now: datetime) -> dict[int, Reading]:
    """Per KPI of `kpis` (loaded models) that has a value, its newest reading: value, time,
    the kind of source that measured it, whether it is fresh at `now`, and the values before
    it that confirm a change (`confirm_readings` in all). One query, every value read from the
    (kpi, at) index."""
    by_id = {kpi.pk: kpi for kpi in kpis}
    newest = Measurement.objects.filter(kpi=OuterRef("pk")).order_by("-at")
    depth = max((kpi.confirm_readings for kpi in by_id.values()), default=1)
    earlier = {}
    for index in range(1, depth):
        earlier[f"earlier_at_{index}"] = Subquery(newest.values("at")[index : index + 1])
        earlier[f"earlier_value_{index}"] = Subquery(newest.values("value")[index : index + 1])
    rows = (
        kpis_with_latest(KPI.objects.filter(pk__in=by_id))
        .annotate(latest_source=Subquery(newest.values("source__kind")[:1]), **earlier)
        .filter(latest_at__isnull=False)
        .values("pk", "latest_at", "latest_value", "latest_source", *earlier)
    )
    readings = {}
    for row in rows:
        kpi = by_id[row["pk"]]
        before = (
            (row[f"earlier_at_{index}"], row[f"earlier_value_{index}"])
            for index in range(1, kpi.confirm_readings)
        )
        readings[kpi.pk] = Reading(
            at=row["latest_at"],
            value=row["latest_value"],
            source=SourceKind(row["latest_source"]).label
            if row["latest_source"]
            else "Entered by hand",
            fresh=status.is_fresh(kpi, row["latest_at"], now=now),
            earlier=tuple((at, value) for at, value in before if at is not None),
        )
    return readings


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


MAX_POINTS = 1000  # per series and chart, whatever the range


@dataclass(frozen=True)
class SeriesPoint:
    """A point of a chart: one measurement, or a time bucket of them (its start, average,
    lowest and highest value, and how many it holds)."""

    at: datetime
    avg: float
    low: float
    high: float
    count: int = 1
    partial: bool = False


class EpochBucket(Func):
    """The number of the `width`-second time bucket a timestamp falls in, counted from the
    Unix epoch: the same buckets on SQLite and PostgreSQL."""

    output_field = BigIntegerField()

    def __init__(self, expression, *, width: int):
        self.width = int(width)  # an integer we choose, never user text
        super().__init__(expression)

    def as_sqlite(self, compiler, connection, **extra_context):
        # %%%%s survives the template (%%s) and the placeholder rewrite (%s) as strftime's %s.
        template = f"(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / {self.width})"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        # date_part's double precision: EXTRACT's numeric made a year's buckets 40% slower.
        template = f"FLOOR(date_part('epoch', %(expressions)s) / {self.width})::bigint"
        return self.as_sql(compiler, connection, template=template, **extra_context)


def _bucketed(rows: QuerySet[Measurement], width: int, *group_by: str):
    return (
        rows.annotate(bucket=EpochBucket("at", width=width))
        .values(*group_by, "bucket")
        .annotate(
            avg=Avg("value"),
            low=Min("value"),
            high=Max("value"),
            count=Count("pk"),
            partials=Count("pk", filter=Q(partial=True)),
        )
        .order_by(*group_by, "bucket")
    )


def _point(bucket: dict, width: int) -> SeriesPoint:
    return SeriesPoint(
        at=datetime.fromtimestamp(bucket["bucket"] * width, tz=UTC),
        avg=bucket["avg"],
        low=bucket["low"],
        high=bucket["high"],
        count=bucket["count"],
        partial=bucket["partials"] > 0,
    )


@dataclass(frozen=True)
class Series:
    points: list[SeriesPoint]
    measurements: int  # how many measurements the points stand for

    @property
    def reduced(self) -> bool:
        return self.measurements > len(self.points)


HOUR = 3600


def kpi_series(
    *,
    kpi: KPI,
    since: datetime | None = None,
    until: datetime | None = None,
    max_points: int = MAX_POINTS,
) -> Series:
    """The KPI's measurements in the range, oldest first: as they are when there are at most
    `max_points`, else reduced in the database to at most `max_points` time buckets, each
    with its average, lowest and highest value (so spikes and breaches stay visible). A range
    whose buckets are an hour or longer reads the hourly sums (MeasurementHour) for its whole
    hours and the measurements only for the part-hours at its ends. A few queries, whatever
    the number of measurements."""
    end = until or timezone.now()
    if since and (end - since).total_seconds() / (max_points - 1) >= HOUR:
        return _series_from_hours(kpi=kpi, since=since, until=until, max_points=max_points)
    rows = Measurement.objects.filter(kpi=kpi)
    if since:
        rows = rows.filter(at__gte=since)
    if until:
        rows = rows.filter(at__lte=until)
    span = rows.aggregate(total=Count("pk"), first=Min("at"), last=Max("at"))
    if span["total"] <= max_points:
        return Series(_as_measured(rows), span["total"])
    seconds = ((until or span["last"]) - (since or span["first"])).total_seconds()
    # max_points - 1 widths cover the range; its ends may fall into two partial buckets.
    width = max(1, math.ceil(seconds / (max_points - 1)))
    return Series([_point(b, width) for b in _bucketed(rows, width)], span["total"])


def _as_measured(rows: QuerySet[Measurement]) -> list[SeriesPoint]:
    return [
        SeriesPoint(at=at, avg=value, low=value, high=value, partial=partial)
        for at, value, partial in rows.order_by("at").values_list("at", "value", "partial")
    ]


def _hour_edges(since: datetime, until: datetime | None) -> tuple[datetime, datetime]:
    """The first and the last whole hour boundaries of [since, until or now]."""
    end = until or timezone.now()
    return (
        datetime.fromtimestamp(math.ceil(since.timestamp() / HOUR) * HOUR, tz=UTC),
        datetime.fromtimestamp(math.floor(end.timestamp() / HOUR) * HOUR, tz=UTC),
    )


def _part_hours(kpi_ids, since: datetime, until: datetime | None) -> QuerySet[Measurement]:
    """The measurements in the part-hours at the ends of the range: before its first whole
    hour, and from its last one on (to `until`, or all of them without it)."""
    first_hour, last_hour = _hour_edges(since, until)
    tail = Q(at__gte=last_hour) & (Q(at__lte=until) if until else Q())
    return Measurement.objects.filter(kpi_id__in=kpi_ids).filter(
        Q(at__gte=since, at__lt=first_hour) | tail
    )


def _whole_hours(kpi_ids, since: datetime, until: datetime | None):
    first_hour, last_hour = _hour_edges(since, until)
    return MeasurementHour.objects.filter(
        kpi_id__in=kpi_ids, hour__gte=first_hour, hour__lt=last_hour
    )


def _sums_by_bucket(kpi_ids, since: datetime, until: datetime | None, width: int) -> dict:
    """{(kpi id, bucket): count, sum, low, high, partials} over the range: whole hours from
    the hourly sums, part-hours from the measurements; `width` is a whole number of hours,
    so each hour falls into one bucket. Two queries, whatever the number of measurements."""
    sums: dict[tuple[int, int], dict] = {}
    from_hours = (
        _whole_hours(kpi_ids, since, until)
        .annotate(bucket=EpochBucket("hour", width=width))
        .values("kpi_id", "bucket")
        .annotate(
            n=Sum("count"), sum=Sum("total"), lo=Min("low"), hi=Max("high"), p=Sum("partials")
        )
    )
    for row in from_hours:
        sums[(row["kpi_id"], row["bucket"])] = {
            "count": row["n"],
            "sum": row["sum"],
            "low": row["lo"],
            "high": row["hi"],
            "partials": row["p"],
        }
    for row in _bucketed(_part_hours(kpi_ids, since, until), width, "kpi_id"):
        held = sums.setdefault(
            (row["kpi_id"], row["bucket"]),
            {"count": 0, "sum": 0.0, "low": row["low"], "high": row["high"], "partials": 0},
        )
        held["count"] += row["count"]
        held["sum"] += row["avg"] * row["count"]
        held["low"] = min(held["low"], row["low"])
        held["high"] = max(held["high"], row["high"])
        held["partials"] += row["partials"]
    return sums


def _summed_point(bucket: int, held: dict, width: int) -> SeriesPoint:
    return _point(
        {
            "bucket": bucket,
            "avg": held["sum"] / held["count"],
            "low": held["low"],
            "high": held["high"],
            "count": held["count"],
            "partials": held["partials"],
        },
        width,
    )


def _series_from_hours(
    *, kpi: KPI, since: datetime, until: datetime | None, max_points: int
) -> Series:
    """kpi_series over a long range, from the hourly sums and the part-hours at its ends."""
    total = (_whole_hours([kpi.pk], since, until).aggregate(n=Sum("count"))["n"] or 0) + (
        _part_hours([kpi.pk], since, until).count()
    )
    if total <= max_points:
        rows = Measurement.objects.filter(kpi=kpi, at__gte=since)
        return Series(_as_measured(rows.filter(at__lte=until) if until else rows), total)
    end = until or timezone.now()
    width = HOUR * math.ceil((end - since).total_seconds() / (max_points - 1) / HOUR)
    sums = _sums_by_bucket([kpi.pk], since, until, width)
    points = [_summed_point(bucket, held, width) for (_, bucket), held in sorted(sums.items())]
    return Series(points, total)


def kpi_series_many(
    *, kpi_ids: list[int], since: datetime, until: datetime, buckets: int
) -> dict[int, list[SeriesPoint]]:
    """For each KPI, its measurements in the range reduced to at most `buckets` time buckets:
    a query or two for any number of KPIs (sparklines); buckets of an hour or more read the
    hourly sums. KPIs without data get []."""
    series: dict[int, list[SeriesPoint]] = {kpi_id: [] for kpi_id in kpi_ids}
    if not kpi_ids:
        return series
    width = max(1, math.ceil((until - since).total_seconds() / (buckets - 1)))
    if width >= HOUR:
        width = HOUR * math.ceil(width / HOUR)
    # Start on a bucket boundary, so that a sliding window leaves earlier buckets as they were.
    since = datetime.fromtimestamp(math.floor(since.timestamp() / width) * width, tz=UTC)
    if width % HOUR == 0:
        sums = _sums_by_bucket(kpi_ids, since, until, width)
        for (kpi_id, bucket), held in sorted(sums.items()):
            series[kpi_id].append(_summed_point(bucket, held, width))
        return series
    rows = Measurement.objects.filter(kpi_id__in=kpi_ids, at__gte=since, at__lte=until)
    for bucket in _bucketed(rows, width, "kpi_id"):
        series[bucket["kpi_id"]].append(_point(bucket, width))
    return series


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


@dataclass(frozen=True)
class KPIStatusCounts:
    total: int = 0
    breached: int = 0
    at_risk: int = 0


def kpi_status_counts(*, projects: QuerySet[Project]) -> dict[int, KPIStatusCounts]:
    """Per project id, how many KPIs it has, how many are breached and how many at risk:
    counted in the database, one query for any number of projects."""
    rows = (
        KPI.objects.filter(project__in=projects)
        .values("project_id")
        .annotate(
            total=Count("pk"),
            breached=Count("pk", filter=Q(status=KPIStatus.BREACHED)),
            at_risk=Count("pk", filter=Q(status=KPIStatus.WARNING)),
        )
        .order_by()
    )
    return {
        row["project_id"]: KPIStatusCounts(row["total"], row["breached"], row["at_risk"])
        for row in rows
    }


NEEDS_ATTENTION = (KPIStatus.BREACHED, KPIStatus.WARNING, KPIStatus.STALE)


def kpi_status_facts(*, projects: QuerySet[Project]) -> dict[int, list[KPIFact]]:
    """Per project id, the KPIs the status rules look at (breached or at risk, and every
    critical one): one query."""
    rows = (
        KPI.objects.filter(project__in=projects)
        .filter(Q(critical=True) | Q(status__in=NEEDS_ATTENTION))
        .order_by("project_id", "-critical", "name")
        .values_list("project_id", "name", "status", "critical")
    )
    facts: dict[int, list[KPIFact]] = {}
    for project_id, name, kpi_status, critical in rows:
        facts.setdefault(project_id, []).append(KPIFact(name, kpi_status, critical))
    return facts


STATUS_SEVERITY = Case(
    When(status=KPIStatus.BREACHED, then=Value(0)),
    When(status=KPIStatus.WARNING, then=Value(1)),
    When(status=KPIStatus.STALE, then=Value(2)),
    When(status=KPIStatus.ON_TARGET, then=Value(3)),
    When(status=KPIStatus.UNJUDGED, then=Value(4)),
    default=Value(5),  # no data yet
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class KPITile:
    kpi: KPI  # with latest_value
    series: list[SeriesPoint]
    pinned: bool = False  # pinned by the person the tiles were read for

    @property
    def figure(self) -> dict:
        return charts.sparkline_figure(self.kpi, self.series)

    @property
    def chart_id(self) -> str:
        return f"kpi-tile-figure-{self.kpi.pk}"


def kpi_tiles(
    *,
    projects: QuerySet[Project],
    watch_only: bool = True,
    limit: int | None = 12,
    days: int = 7,
    buckets: int = 56,
    pinned_by=None,
) -> list[KPITile]:
    """Sparkline tiles, worst status first: with `watch_only` the KPIs that matter most
    (critical ones, and any breached or at risk), else all; with `pinned_by` (a user), the
    KPIs they pinned first. Each carries its last `days` reduced in SQL to at most `buckets`
    points. Two queries, whatever the number of KPIs, pins or measurements."""
    kpis = KPI.objects.filter(project__in=projects)
    if watch_only:
        kpis = kpis.filter(Q(critical=True) | Q(status__in=(KPIStatus.BREACHED, KPIStatus.WARNING)))
    order = ["severity", "-critical", "project__code", "name"]
    if pinned_by is not None and pinned_by.is_authenticated:
        kpis = kpis.annotate(
            pinned=Exists(KPIPin.objects.filter(kpi=OuterRef("pk"), user=pinned_by))
        )
        order.insert(0, "-pinned")
    kpis = list(
        kpis_with_latest(kpis.select_related("project"))
        .annotate(severity=STATUS_SEVERITY)
        .order_by(*order)[:limit]
    )
    until = timezone.now()
    series = kpi_series_many(
        kpi_ids=[kpi.pk for kpi in kpis],
        since=until - timedelta(days=days),
        until=until,
        buckets=buckets,
    )
    return [KPITile(kpi, series[kpi.pk], pinned=getattr(kpi, "pinned", False)) for kpi in kpis]


def kpi_report_lines(*, projects: QuerySet[Project], since: datetime) -> dict[int, list[KPI]]:
    """Per project id, its KPIs (critical first) with `latest_value`, `latest_at`,
    `earlier_value` (the newest value before `since`) and `trend` ('better', 'worse',
    'steady' or None): one query for any number of projects."""
    newest = Measurement.objects.filter(kpi=OuterRef("pk")).order_by("-at")
    kpis = (
        kpis_with_latest(KPI.objects.filter(project__in=projects))
        .annotate(earlier_value=Subquery(newest.filter(at__lt=since).values("value")[:1]))
        .order_by("project_id", "-critical", "kind", "category", "name")
    )
    lines: dict[int, list[KPI]] = {}
    for kpi in kpis:
        kpi.trend = status.trend(kpi, kpi.earlier_value, kpi.latest_value)
        lines.setdefault(kpi.project_id, []).append(kpi)
    return lines
