from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.models import KPI, KPIStatus
from metrics.status import Confirmation, kpi_status, kpi_status_confirmed

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


def test_a_new_judgement_counts_once_the_last_readings_each_judged_it_as_they_came_in():
    on_target = kpi(status=KPIStatus.ON_TARGET, confirm_readings=2)
    pending = kpi_status_confirmed(on_target, values(600, 400), now=NOW)
    assert pending == Confirmation(
        KPIStatus.ON_TARGET, pending=KPIStatus.BREACHED, since=NOW, held=1
    )
    step = timedelta(minutes=10)
    assert kpi_status_confirmed(on_target, values(600, 610, 400), now=NOW) == Confirmation(
        KPIStatus.BREACHED, since=NOW - step, held=2
    )
    # Back to the status it has: at once, nothing pending.
    assert kpi_status_confirmed(on_target, values(400, 600), now=NOW) == Confirmation(
        KPIStatus.ON_TARGET
    )


def test_a_sustained_target_is_confirmed_on_each_readings_own_window():
    sustained = kpi(status=KPIStatus.WARNING, sustain_values=2, confirm_readings=2)
    # The newest two values meet the target, but the reading before saw a miss in its window.
    confirmation = kpi_status_confirmed(sustained, values(0.1, 0.2, 600), now=NOW)
    assert (confirmation.status, confirmation.pending) == (KPIStatus.WARNING, KPIStatus.ON_TARGET)
    confirmed = kpi_status_confirmed(sustained, values(0.1, 0.2, 0.3, 600), now=NOW)
    assert confirmed.status == KPIStatus.ON_TARGET


def test_no_data_stale_and_no_numeric_target_change_at_once():
    assert kpi_status_confirmed(kpi(status=KPIStatus.NO_DATA), values(600), now=NOW).status == (
        KPIStatus.BREACHED
    )
    old = [(NOW - timedelta(hours=3), 100.0)]
    assert kpi_status_confirmed(kpi(status=KPIStatus.BREACHED), old, now=NOW).status == (
        KPIStatus.STALE
    )
    assert kpi_status_confirmed(kpi(status=KPIStatus.STALE), values(600), now=NOW).status == (
        KPIStatus.BREACHED
    )
    untargeted = kpi(status=KPIStatus.UNJUDGED, confirm_readings=5)
    assert kpi_status_confirmed(untargeted, values(600), now=NOW).status == KPIStatus.BREACHED
