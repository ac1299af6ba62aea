from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.models import KPI, KPIStatus
from metrics.status import kpi_status

NOW = timezone.now()


def kpi(**fields) -> KPI:
    defaults = {"comparator": "lt", "target_value": 500, "cadence": timedelta(hours=1)}
    return KPI(**{**defaults, **fields})


def values(*numbers, step=timedelta(minutes=10)):
    return [(NOW - index * step, number) for index, number in enumerate(numbers)]


@pytest.mark.parametrize(
    ("fields", "value", "expected"),
    [
        ({}, 420, KPIStatus.ON_TARGET),
        ({}, 500, KPIStatus.BREACHED),
        ({"comparator": "lte"}, 500, KPIStatus.ON_TARGET),
        ({"warning_value": 400}, 450, KPIStatus.WARNING),
        (
            {"comparator": "gte", "target_value": 99.9, "warning_value": 99.95},
            99.92,
            KPIStatus.WARNING,
        ),
        ({"comparator": "gte", "target_value": 99.9}, 99.8, KPIStatus.BREACHED),
        ({"comparator": "gt", "target_value": 95}, 95, KPIStatus.BREACHED),
        ({"comparator": "eq", "target_value": 0}, 0, KPIStatus.ON_TARGET),
        ({"comparator": "eq", "target_value": 0}, 1, KPIStatus.BREACHED),
        (
            {"comparator": "between", "target_value": 4, "target_value_high": 6},
            6,
            KPIStatus.ON_TARGET,
        ),
        (
            {"comparator": "between", "target_value": 4, "target_value_high": 6},
            3.9,
            KPIStatus.BREACHED,
        ),
        ({"comparator": None, "target_value": None}, 3, KPIStatus.UNJUDGED),
    ],
)
def test_every_comparator(fields, value, expected):
    assert kpi_status(kpi(**fields), values(value), now=NOW) == expected


def test_no_value_is_no_data_and_an_old_value_is_stale():
    assert kpi_status(kpi(), [], now=NOW) == KPIStatus.NO_DATA
    old = [(NOW - timedelta(hours=2, minutes=1), 100.0)]
    assert kpi_status(kpi(), old, now=NOW) == KPIStatus.STALE
    recent = [(NOW - timedelta(hours=1, minutes=59), 100.0)]
    assert kpi_status(kpi(), recent, now=NOW) == KPIStatus.ON_TARGET


def test_a_sustained_target_needs_every_value_in_the_window():
    sustained = kpi(comparator="lt", target_value=1, sustain_values=3)
    assert kpi_status(sustained, values(0.5, 0.4, 0.3), now=NOW) == KPIStatus.ON_TARGET
    assert kpi_status(sustained, values(0.5, 1.5, 0.3), now=NOW) == KPIStatus.WARNING
    assert kpi_status(sustained, values(0.5, 0.4), now=NOW) == KPIStatus.WARNING  # not yet 3
    assert kpi_status(sustained, values(1.2, 0.4, 0.3), now=NOW) == KPIStatus.BREACHED
