from datetime import timedelta

import pytest
from django.utils import timezone

from metrics import services
from metrics.models import KPI, KPIStatus, Measurement
from tests.factories import KPIFactory, MeasurementFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_value_is_recorded_with_who_entered_it():
    kpi, pm = KPIFactory(), UserFactory()
    at = timezone.now()
    measurement = services.measurement_record(kpi=kpi, at=at, value=430.0, by=pm)
    assert Measurement.objects.get(pk=measurement.pk).recorded_by == pm


def test_a_second_value_for_the_same_moment_is_refused_and_the_first_kept():
    kpi = KPIFactory()
    at = timezone.now()
    services.measurement_record(kpi=kpi, at=at, value=430.0)
    with pytest.raises(services.MeasurementRefused, match="measurements are not changed"):
        services.measurement_record(kpi=kpi, at=at, value=999.0)
    assert list(Measurement.objects.filter(kpi=kpi).values_list("value", flat=True)) == [430.0]


def test_the_dispatchers_stale_check_judges_only_kpis_whose_values_stopped(
    project_a, django_assert_max_num_queries
):
    now = timezone.now()
    quiet = KPIFactory(project=project_a, name="Replication lag", cadence=timedelta(minutes=5))
    MeasurementFactory(kpi=quiet, at=now - timedelta(minutes=11), value=1)
    quiet.status = KPIStatus.ON_TARGET
    quiet.save()
    fresh = []
    for n in range(30):
        kpi = KPIFactory(project=project_a, name=f"Fresh {n}", cadence=timedelta(minutes=5))
        MeasurementFactory(kpi=kpi, at=now - timedelta(minutes=1), value=1)
        fresh.append(kpi)
    KPI.objects.filter(pk__in=[k.pk for k in fresh]).update(status=KPIStatus.ON_TARGET)

    with django_assert_max_num_queries(12):  # one to find them, a few to judge the quiet one
        assert services.kpi_status_refresh_stale(now=now) == 1
    quiet.refresh_from_db()
    assert quiet.status == KPIStatus.STALE
    assert set(
        KPI.objects.filter(pk__in=[k.pk for k in fresh]).values_list("status", flat=True)
    ) == {KPIStatus.ON_TARGET}
    with django_assert_max_num_queries(1):  # nothing stale now: one query, whatever the count
        assert services.kpi_status_refresh_stale(now=now) == 0
