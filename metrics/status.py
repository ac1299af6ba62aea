"""Whether a KPI meets its target: computed here, and only here."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from core.words import duration_words
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


# Changes to or from these take effect at once: they are about time passing, the first data or
# the KPI's own set-up, not a reading that could swing back.
IMMEDIATE = frozenset({KPIStatus.NO_DATA, KPIStatus.STALE, KPIStatus.UNJUDGED})


@dataclass(frozen=True)
class Confirmation:
    """A KPI's status after a judgement: the confirmed `status`, and a `pending` judgement that
    differs from it. `held` and `since` say for how many readings in a row, and since which
    reading's time, the pending judgement (or the change just confirmed) has held; 0 and None
    for a change that takes effect at once."""

    status: KPIStatus
    pending: KPIStatus | None = None
    since: datetime | None = None
    held: int = 0


def readings_to_confirm(kpi: KPI) -> int:
    """How many latest values `kpi_status_confirmed` needs: enough to judge each of the last
    `confirm_readings` readings as it stood when it came in."""
    return kpi.confirm_readings + max(kpi.sustain_values or 1, 1) - 1


def has_held(kpi: KPI, *, held: int, since: datetime, now: datetime) -> bool:
    """Has a new judgement on `kpi`'s values, made by its last `held` readings in a row (the
    first of them measured at `since`), held long enough to count: `confirm_readings`
    readings, or `confirm_after` if set? The one rule for KPI statuses and gate criteria."""
    return held >= kpi.confirm_readings or (
        kpi.confirm_after is not None and now - since >= kpi.confirm_after
    )


def kpi_status_confirmed(
    kpi: KPI, latest: Sequence[tuple[datetime, float]], *, now: datetime
) -> Confirmation:
    """The status `kpi` (holding its confirmed `status`) moves to given its latest values,
    newest first (`readings_to_confirm(kpi)` of them).

    A judgement that differs from the status counts once the last `confirm_readings` readings,
    each judged as it came in, all agree with it, or once it has been the judgement since a
    reading at least `confirm_after` ago; until then it is pending and the status stays.
    Entering or leaving no data, stale or no numeric target is immediate.
    """
    judged = kpi_status(kpi, latest, now=now)
    current = KPIStatus(kpi.status)
    if judged == current or judged in IMMEDIATE or current in IMMEDIATE:
        return Confirmation(judged)
    held = 0
    for index in range(min(kpi.confirm_readings, len(latest))):
        at = latest[index][0]
        if kpi_status(kpi, latest[index:], now=at) != judged:
            break
        held += 1
    # The newest reading is fresh at `now`, so it judges as it did when it came: held >= 1.
    since = latest[max(held, 1) - 1][0]
    if has_held(kpi, held=held, since=since, now=now):
        return Confirmation(judged, since=since, held=held)
    return Confirmation(current, pending=judged, since=since, held=held)


PENDING_WORDS = {
    KPIStatus.BREACHED: "Latest value misses the target",
    KPIStatus.WARNING: "Latest value puts the KPI at risk",
    KPIStatus.ON_TARGET: "Latest value meets the target",
}


def _moment_words(moment: datetime, *, now: datetime) -> str:
    """`moment` in the reader's time zone: "08:00" today, "3 Dec 08:00" another day."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localtime(now).date():
        return f"{local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def confirm_words(kpi: KPI) -> str:
    """What confirms a new status of `kpi`: "2 readings", "3 readings or 15 minutes"."""
    readings = f"{kpi.confirm_readings} reading{'' if kpi.confirm_readings == 1 else 's'}"
    if kpi.confirm_after is None:
        return readings
    return f"{readings} or {duration_words(kpi.confirm_after)}"


def confirm_rule_words(kpi: KPI) -> str:
    """When a new status of `kpi` counts, in words: "Once 2 readings in a row agree"."""
    if kpi.confirm_readings == 1:
        return "At the first reading that judges it"
    words = f"Once {kpi.confirm_readings} readings in a row agree"
    if kpi.confirm_after is not None:
        words += f", or the new status holds for {duration_words(kpi.confirm_after)}"
    return words


def pending_words(kpi: KPI, *, now: datetime | None = None) -> str:
    """A pending change of `kpi`'s status in words, "" without one: "Latest value misses the
    target; counted as breached once it holds for 2 readings (since 08:00)"; without `now`,
    without the time."""
    if not kpi.pending_status:
        return ""
    pending = KPIStatus(kpi.pending_status)
    words = PENDING_WORDS.get(pending, f"Latest value judges it {pending.label.lower()}")
    words += f"; counted as {pending.label.lower()} once it holds for {confirm_words(kpi)}"
    if now is not None and kpi.pending_since is not None:
        words += f" (since {_moment_words(kpi.pending_since, now=now)})"
    return words


def flap_words(kpi: KPI, *, now: datetime) -> str:
    """The swings of `kpi` that did not hold, in words, "" without any: "Swung away from on
    target and back 6 times since 08:00 without holding; not notified"."""
    if not kpi.flaps:
        return ""
    times = "once" if kpi.flaps == 1 else "twice" if kpi.flaps == 2 else f"{kpi.flaps} times"
    since = f" since {_moment_words(kpi.flaps_since, now=now)}" if kpi.flaps_since else ""
    status = KPIStatus(kpi.status).label.lower()
    return f"Swung away from {status} and back {times}{since} without holding; not notified"


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
