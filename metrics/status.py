"""Whether a KPI meets its target: computed here, and only here."""

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from metrics.models import KPI, Comparator, KPIStatus

EQUAL_TOLERANCE = 1e-9


def meets(kpi: KPI, value: float) -> bool:
    """Does `value` meet the KPI's target?"""
    if kpi.comparator is None:
        raise ValueError(f"{kpi} has no numeric target")
    return value_meets(kpi.comparator, value, kpi.target_value, kpi.target_value_high)


def value_meets(comparator: str, value: float, target: float, high: float | None = None) -> bool:
    """Does `value` stand to `target` as `comparator` asks (between `target` and `high`)?
    The one rule for KPI targets and gate thresholds alike; equality allows for rounding."""
    match comparator:
        case Comparator.LT:
            return value < target
        case Comparator.LTE:
            return value <= target
        case Comparator.GT:
            return value > target
        case Comparator.GTE:
            return value >= target
        case Comparator.EQ:
            return math.isclose(value, target, rel_tol=EQUAL_TOLERANCE, abs_tol=EQUAL_TOLERANCE)
        case Comparator.BETWEEN:
            return target <= value <= high
    raise ValueError(f"{comparator!r} is not a comparator")


def near_limit(kpi: KPI, value: float) -> bool:
    """On target, but past the warning value (towards the limit)."""
    if kpi.warning_value is None:
        return False
    if kpi.comparator in (Comparator.LT, Comparator.LTE):
        return value >= kpi.warning_value
    if kpi.comparator in (Comparator.GT, Comparator.GTE):
        return value <= kpi.warning_value
    return False


def freshness_window(kpi: KPI) -> timedelta:
    """How old a KPI's newest value may be and still judge anything: twice its cadence."""
    return 2 * kpi.cadence


def is_fresh(kpi: KPI, at: datetime, *, now: datetime) -> bool:
    """Was a value measured at `at` recent enough to judge the KPI at `now`?"""
    return now - at <= freshness_window(kpi)


def kpi_status(kpi: KPI, latest: Sequence[tuple[datetime, float]], *, now: datetime) -> KPIStatus:
    """The status of `kpi` given its latest measurements, newest first, as (at, value).

    No value: no data. No value within twice the cadence: stale. Otherwise the newest value
    decides: breached if it misses the target; at risk if it is past the warning value or, for
    a sustained target, if the latest `sustain_values` values do not all meet it; else on
    target.
    """
    if not latest:
        return KPIStatus.NO_DATA
    newest_at, newest = latest[0]
    if not is_fresh(kpi, newest_at, now=now):
        return KPIStatus.STALE
    if kpi.comparator is None:
        return KPIStatus.UNJUDGED
    if not meets(kpi, newest):
        return KPIStatus.BREACHED
    if kpi.sustain_values:
        window = latest[: kpi.sustain_values]
        if len(window) < kpi.sustain_values or not all(meets(kpi, v) for _, v in window):
            return KPIStatus.WARNING
    if near_limit(kpi, newest):
        return KPIStatus.WARNING
    return KPIStatus.ON_TARGET


def trend(kpi: KPI, earlier: float | None, latest: float | None) -> str | None:
    """'better', 'worse' or 'steady': how the KPI moved from `earlier` to `latest` with
    respect to its target; None without both values or a numeric target."""
    if earlier is None or latest is None or kpi.comparator is None:
        return None
    if math.isclose(earlier, latest, rel_tol=1e-3, abs_tol=1e-9):
        return "steady"
    match kpi.comparator:
        case Comparator.LT | Comparator.LTE:
            better = latest < earlier
        case Comparator.GT | Comparator.GTE:
            better = latest > earlier
        case Comparator.BETWEEN:
            middle = (kpi.target_value + kpi.target_value_high) / 2
            better = abs(latest - middle) < abs(earlier - middle)
        case _:
            better = abs(latest - kpi.target_value) < abs(earlier - kpi.target_value)
    return "better" if better else "worse"
