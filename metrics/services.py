"""Writes of KPI values. Measurements are append-only: recorded once, never changed."""

from datetime import datetime

from django.db import IntegrityError, transaction

from metrics.models import KPI, Measurement, MetricSource


class MeasurementRefused(Exception):
    """A value that cannot be recorded, with a message for the person who sent it."""


def measurement_record(
    *,
    kpi: KPI,
    at: datetime,
    value: float,
    source: MetricSource | None = None,
    by=None,
    note: str = "",
    partial: bool = False,
) -> Measurement:
    """Record `value` for `kpi` at `at`; a second value for the same moment is refused."""
    measurement = Measurement(
        kpi=kpi, at=at, value=value, source=source, recorded_by=by, note=note, partial=partial
    )
    # Uniqueness is left to the database, which settles two writers racing for one moment.
    measurement.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            measurement.save()
    except IntegrityError as error:
        raise MeasurementRefused(
            f"{kpi} already has a value at {at:%Y-%m-%d %H:%M:%S}; measurements are not changed."
        ) from error
    return measurement
