"""Series reduced in the database: any range from a day to a year reaches the browser as at
most MAX_POINTS buckets (average, lowest, highest), in a fixed number of queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from metrics import selectors
from metrics.models import Measurement
from tests.factories import KPIFactory

pytestmark = pytest.mark.django_db


def fill(kpi, *, start, step, count, value=lambda i: float(i % 50)):
    Measurement.objects.bulk_create(
        (Measurement(kpi=kpi, at=start + step * i, value=value(i)) for i in range(count)),
        batch_size=5000,
    )


def test_a_year_of_ten_minute_data_is_reduced_in_sql_keeping_the_spike(
    project_a, django_assert_max_num_queries
):
    kpi = KPIFactory(project=project_a)
    start = timezone.now() - timedelta(days=365)
    count = 365 * 24 * 6  # 52,560 measurements
    spike = 31_337
    fill(
        kpi,
        start=start,
        step=timedelta(minutes=10),
        count=count,
        value=lambda i: 9_999.0 if i == spike else float(i % 50),
    )
    with django_assert_max_num_queries(4):  # counts and buckets: hourly sums, part-hours
        series = selectors.kpi_series(kpi=kpi, since=start)
    assert series.measurements == count
    assert series.reduced and len(series.points) <= selectors.MAX_POINTS
    assert sum(point.count for point in series.points) == count
    assert all(point.low <= point.avg <= point.high for point in series.points)
    assert max(point.high for point in series.points) == 9_999.0
    assert [p.at for p in series.points] == sorted(p.at for p in series.points)


def test_a_day_of_minute_data_is_reduced(project_a):
    kpi = KPIFactory(project=project_a)
    start = timezone.now() - timedelta(days=1)
    fill(kpi, start=start, step=timedelta(minutes=1), count=1440)
    series = selectors.kpi_series(kpi=kpi, since=start)
    assert len(series.points) <= selectors.MAX_POINTS
    assert sum(point.count for point in series.points) == 1440


def test_a_short_series_comes_back_as_measured(project_a):
    kpi = KPIFactory(project=project_a)
    start = timezone.now() - timedelta(hours=5)
    fill(kpi, start=start, step=timedelta(hours=1), count=5, value=lambda i: 10.0 + i)
    series = selectors.kpi_series(kpi=kpi)
    assert not series.reduced
    assert [point.avg for point in series.points] == [10, 11, 12, 13, 14]
    assert all(point.count == 1 and point.low == point.high for point in series.points)


def test_buckets_are_the_same_on_every_database(project_a):
    """Known timestamps, known buckets: 1,001 points at 1-minute steps from midnight UTC over
    1,000 minutes give 60-second buckets (ceil(60,000 s / 999)) holding one value each, except
    that bucket widths round up to whole seconds."""
    kpi = KPIFactory(project=project_a)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    fill(kpi, start=start, step=timedelta(seconds=30), count=2001, value=lambda i: float(i))
    series = selectors.kpi_series(kpi=kpi, max_points=1001)
    # 2,001 points over 60,000 s: width ceil(60,000 / 1,000) = 60 s, two values a bucket.
    assert series.points[0].at == start
    assert series.points[0].avg == 0.5 and series.points[0].count == 2
    assert series.points[1].at == start + timedelta(seconds=60)
    assert series.points[1].avg == 2.5
    assert series.points[-1].count == 1 and series.points[-1].avg == 2000
    assert len(series.points) == 1001


def test_many_kpis_in_two_queries(project_a, django_assert_num_queries):
    busy, quiet, empty = (KPIFactory(project=project_a) for _ in range(3))
    until = timezone.now()
    since = until - timedelta(days=7)
    fill(busy, start=since + timedelta(minutes=1), step=timedelta(minutes=5), count=2000)
    fill(quiet, start=since + timedelta(hours=1), step=timedelta(days=1), count=3)
    with django_assert_num_queries(2):  # a week's three-hour buckets: hourly sums, part-hours
        series = selectors.kpi_series_many(
            kpi_ids=[busy.pk, quiet.pk, empty.pk], since=since, until=until, buckets=56
        )
    assert len(series[busy.pk]) <= 56
    assert sum(point.count for point in series[busy.pk]) == 2000
    width = int((series[busy.pk][1].at - series[busy.pk][0].at).total_seconds())
    rows = Measurement.objects.filter(kpi=busy, at__gte=series[busy.pk][0].at, at__lte=until)
    expected = [selectors._point(b, width) for b in selectors._bucketed(rows, width)]
    assert [(p.at, p.count, p.low, p.high) for p in series[busy.pk]] == [
        (p.at, p.count, p.low, p.high) for p in expected
    ]
    assert len(series[quiet.pk]) == 3
    assert series[empty.pk] == []


def test_the_database_keeps_hourly_sums_of_every_insert(project_a, bob):
    """By a single save (the factories', the services'), in bulk, or pushed through the API
    (COPY on PostgreSQL): each hour's count, sum, lowest and highest value, as the rows say."""
    from django.db.models import Count, Max, Min, Sum
    from django.db.models.functions import TruncHour

    from metrics import services
    from metrics.models import MeasurementHour
    from tests.factories import MeasurementFactory

    kpi = KPIFactory(project=project_a)
    start = datetime(2026, 3, 1, 9, 50, tzinfo=UTC)
    for minutes in (0, 5, 16, 70):
        MeasurementFactory(kpi=kpi, at=start + timedelta(minutes=minutes), value=minutes)
    fill(kpi, start=start + timedelta(minutes=1), step=timedelta(minutes=7), count=40)
    services.measurements_push(
        kpi_values=[
            {"kpi": kpi, "at": start + timedelta(minutes=2, seconds=n), "value": -n}
            for n in range(30)
        ],
        by=bob,
    )
    raw = (
        Measurement.objects.filter(kpi=kpi)
        .annotate(hour=TruncHour("at", tzinfo=UTC))
        .values("hour")
        .annotate(count=Count("pk"), total=Sum("value"), low=Min("value"), high=Max("value"))
        .order_by("hour")
    )
    kept = MeasurementHour.objects.filter(kpi=kpi).order_by("hour")
    assert [(h.hour, h.count, h.total, h.low, h.high) for h in kept] == [
        (r["hour"], r["count"], r["total"], r["low"], r["high"]) for r in raw
    ]
    assert sum(h.count for h in kept) == 4 + 40 + 30


@pytest.mark.parametrize(
    ("days", "open_ended"), [(45, False), (90, False), (365, False), (365, True)]
)
def test_long_ranges_read_the_hourly_sums_and_give_what_the_measurements_give(
    project_a, days, open_ended, django_assert_max_num_queries
):
    """Whole hours from the sums, the part-hours at the ends from the measurements: the same
    buckets as reducing every measurement, in a few queries."""
    kpi = KPIFactory(project=project_a)
    until = datetime(2026, 11, 30, 17, 23, 41, tzinfo=UTC)
    since = until - timedelta(days=days)
    step = timedelta(minutes=17)
    fill(
        kpi,
        start=since - timedelta(hours=3),
        step=step,
        count=int(timedelta(days=days, hours=6) / step),
        value=lambda i: float((i * 7919) % 101) + (500.0 if i == 1234 else 0.0),
    )
    with django_assert_max_num_queries(4):
        series = selectors.kpi_series(kpi=kpi, since=since, until=None if open_ended else until)
    rows = Measurement.objects.filter(kpi=kpi, at__gte=since)
    rows = rows if open_ended else rows.filter(at__lte=until)
    width = int((series.points[1].at - series.points[0].at).total_seconds())
    assert width % selectors.HOUR == 0
    expected = [selectors._point(b, width) for b in selectors._bucketed(rows, width)]
    assert series.measurements == rows.count()
    assert len(series.points) == len(expected) <= selectors.MAX_POINTS
    for got, want in zip(series.points, expected, strict=True):
        assert (got.at, got.count, got.low, got.high) == (want.at, want.count, want.low, want.high)
        assert got.avg == pytest.approx(want.avg)
    assert max(point.high for point in series.points) >= 500  # the spike survives
