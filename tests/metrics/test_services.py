import pytest
from django.utils import timezone

from metrics import services
from metrics.models import Measurement
from tests.factories import KPIFactory, UserFactory

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
