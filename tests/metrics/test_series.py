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
    with django_assert_max_num_queries(2):
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


def test_many_kpis_in_one_query(project_a, django_assert_num_queries):
    busy, quiet, empty = (KPIFactory(project=project_a) for _ in range(3))
    until = timezone.now()
    since = until - timedelta(days=7)
    fill(busy, start=since + timedelta(minutes=1), step=timedelta(minutes=5), count=2000)
    fill(quiet, start=since + timedelta(hours=1), step=timedelta(days=1), count=3)
    with django_assert_num_queries(1):
        series = selectors.kpi_series_many(
            kpi_ids=[busy.pk, quiet.pk, empty.pk], since=since, until=until, buckets=56
        )
    assert len(series[busy.pk]) <= 56
    assert sum(point.count for point in series[busy.pk]) == 2000
    assert len(series[quiet.pk]) == 3
    assert series[empty.pk] == []
