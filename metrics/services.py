"""Writes of KPI values, and the collection that produces them. Measurements are append-only:
recorded once, never changed."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.words import duration_words, moment_words
from metrics import selectors as metric_selectors
from metrics import status
from metrics.collection import collectors
from metrics.models import (
    KPI,
    KPIPin,
    KPIStatus,
    Measurement,
    MetricSource,
    SourceHealth,
    SourceKind,
)
from notifications import services as notification_services
from notifications.models import NotificationKind
from projects import selectors as project_selectors

logger = logging.getLogger(__name__)


class MeasurementRefused(Exception):
    """A value that cannot be recorded, with a message for the person who sent it."""


def measurement_record(
    *,
    kpi: KPI,
    at: datetime,
    value: float,
    source: MetricSource | None = None,
    slot: datetime | None = None,
    by=None,
    note: str = "",
    partial: bool = False,
) -> Measurement:
    """Record `value` for `kpi` at `at`; a second value for the same moment (or the same
    source and slot) is refused."""
    measurement = Measurement(
        kpi=kpi,
        at=at,
        value=value,
        source=source,
        slot=slot,
        recorded_by=by,
        note=note,
        partial=partial,
    )
    # Uniqueness is left to the database, which settles two writers racing for one moment;
    # the related rows are the caller's own objects, not looked up again (two queries a poll).
    measurement.full_clean(
        exclude=["kpi", "source", "recorded_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    try:
        with transaction.atomic():
            measurement.save()
    except IntegrityError as error:
        raise MeasurementRefused(
            f"{kpi} already has a value at {moment_words(at)}; measurements are not changed."
        ) from error
    return measurement


def kpi_latest(kpi: KPI, count: int) -> list[tuple[datetime, float]]:
    return list(
        Measurement.objects.filter(kpi=kpi).order_by("-at").values_list("at", "value")[:count]
    )


# Swings are counted for a day from the first; the next one after that starts a new count.
FLAP_WINDOW = timedelta(days=1)
# What judging a KPI writes.
STATUS_FIELDS = (
    "status",
    "status_changed_at",
    "pending_status",
    "pending_since",
    "flaps",
    "flaps_since",
)


@transaction.atomic
def kpi_status_refresh(*, kpi: KPI, now: datetime | None = None) -> KPIStatus:
    """Work out the KPI's status. A new judgement counts only once it holds (see
    `status.kpi_status_confirmed`); until then it is kept as pending, and one that swings back
    is counted as a flap. On entering or leaving 'breached', tell its owner and the project's
    managers (once per change)."""
    now = now or timezone.now()
    kpi = (
        KPI.objects.select_for_update(of=("self",))
        .select_related("project", "owner")
        .get(pk=kpi.pk)
    )
    latest = kpi_latest(kpi, status.readings_to_confirm(kpi))
    judgement = status.kpi_status_confirmed(kpi, latest, now=now)
    old, new = kpi.status, judgement.status
    changes = {
        "pending_status": judgement.pending,
        "pending_since": judgement.since if judgement.pending else None,
    }
    if new != old:
        changes.update(status=new, status_changed_at=now, flaps=0, flaps_since=None)
    elif kpi.pending_status and judgement.pending != kpi.pending_status:
        # The pending change did not hold: counted, not notified.
        counting = kpi.flaps_since is not None and now - kpi.flaps_since <= FLAP_WINDOW
        changes.update(
            flaps=kpi.flaps + 1 if counting else 1,
            flaps_since=kpi.flaps_since if counting else kpi.pending_since,
        )
    if any(getattr(kpi, name) != value for name, value in changes.items()):
        KPI.objects.filter(pk=kpi.pk).update(**changes)
    if new == old:
        return new
    if KPIStatus.BREACHED in (old, new) and KPIStatus.STALE not in (old, new):
        breached = new == KPIStatus.BREACHED
        # The value the status was judged on.
        shown = f"{latest[0][1]:g}{f' {kpi.unit}' if kpi.unit else ''}" if latest else "—"
        held = ""
        if judgement.held >= kpi.confirm_readings > 1:
            held = f" It held for {judgement.held} readings in a row."
        elif judgement.since is not None and judgement.held < kpi.confirm_readings:
            held = f" It held for {duration_words(now - judgement.since)}."
        notification_services.notify(
            users=[kpi.owner, *project_selectors.project_managers(project=kpi.project)],
            kind=NotificationKind.KPI_BREACHED if breached else NotificationKind.KPI_RECOVERED,
            title=f"{kpi.project.code} KPI {'breached' if breached else 'back on target'}: "
            f"{kpi.name}",
            body=f"Latest value {shown}; target {kpi.target_display}.{held}",
            url=kpi.get_absolute_url(),
            dedupe_key=f"kpi-status:{kpi.pk}:{now.isoformat()}",
        )
    return new


def kpi_status_refresh_stale(*, now: datetime | None = None) -> int:
    """Mark KPIs whose values stopped coming as stale, and confirm pending changes that have
    held for their KPI's `confirm_after` (run by the dispatcher, every few seconds): one query
    finds them, each KPI's newest time read from its index, and only those are judged anew.
    Returns how many went stale."""
    now = now or timezone.now()
    candidates = metric_selectors.kpis_with_latest(
        KPI.objects.exclude(status__in=[KPIStatus.STALE, KPIStatus.NO_DATA])
    ).values_list("pk", "cadence", "latest_at", "pending_since", "confirm_after")
    changed = 0
    for pk, cadence, newest_at, pending_since, confirm_after in candidates:
        fresh = newest_at is not None and now - newest_at <= 2 * cadence
        confirmable = (
            pending_since is not None
            and confirm_after is not None
            and now - pending_since >= confirm_after
        )
        if fresh and not confirmable:
            continue  # nothing to judge
        if kpi_status_refresh(kpi=KPI(pk=pk), now=now) == KPIStatus.STALE:
            changed += 1
    return changed


def metric_sources_claim_due(*, now: datetime | None = None, limit: int = 200):
    """Claim the active sources due for collection: each gets its slot (the time it was due)
    and its next due time. Two dispatchers running at once claim disjoint sources (SKIP LOCKED
    on PostgreSQL)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            MetricSource.objects.filter(is_active=True)
            .exclude(kind=SourceKind.MANUAL)
            .filter(Q(next_due_at__lte=now) | Q(next_due_at__isnull=True))
            .order_by(F("next_due_at").asc(nulls_first=True), "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        claimed = []
        for source in due[:limit]:
            slot = source.next_due_at or now
            if slot < now - source.interval:
                slot = now  # long overdue (e.g. after downtime): collect now, not every gap
            MetricSource.objects.filter(pk=source.pk).update(next_due_at=slot + source.interval)
            claimed.append((source.pk, slot))
    return claimed


def _record_failure(source: MetricSource, message: str, now: datetime) -> None:
    MetricSource.objects.filter(pk=source.pk).update(
        last_error=message[:2000],
        last_error_at=now,
        consecutive_failures=F("consecutive_failures") + 1,
    )
    source.refresh_from_db()
    if (
        source.consecutive_failures >= settings.METRIC_SOURCE_UNHEALTHY_AFTER
        and source.health != SourceHealth.FAILING
    ):
        MetricSource.objects.filter(pk=source.pk).update(health=SourceHealth.FAILING)
        kpi = source.kpi
        notification_services.notify(
            users=[kpi.owner, *project_selectors.project_managers(project=kpi.project)],
            kind=NotificationKind.SOURCE_FAILING,
            title=f"{kpi.project.code} source failing: {kpi.name}",
            body=f"{source.consecutive_failures} collections in a row failed. Last error: "
            f"{message}",
            url=kpi.get_absolute_url(),
            dedupe_key=f"source-failing:{source.pk}:{now.isoformat()}",
        )


def metric_source_poll(*, source_id: int, slot: datetime, now: datetime | None = None):
    """Collect one value for `source_id`'s `slot` and record it; a second run for the same slot
    writes nothing. Returns the measurement, or None if there was nothing (new) to record.
    Raises SourceError for a transient failure, after recording it, so the caller may retry."""
    now = now or timezone.now()
    source = MetricSource.objects.select_related("kpi__project", "kpi__owner").get(pk=source_id)
    if not source.is_active:
        return None
    if Measurement.objects.filter(source=source, slot=slot).exists():
        return None
    try:
        reading = collectors.collect(source)
    except collectors.SourceError as error:
        _record_failure(source, str(error), now)
        if error.transient:
            raise
        return None
    try:
        measurement = measurement_record(
            kpi=source.kpi,
            at=slot,
            value=reading.value,
            source=source,
            slot=slot,
            partial=reading.partial,
            note=reading.note,
        )
    except MeasurementRefused:
        return None  # a twin of this poll got there first
    MetricSource.objects.filter(pk=source.pk).update(
        health=SourceHealth.OK, last_success_at=now, consecutive_failures=0
    )
    kpi_status_refresh(kpi=source.kpi, now=now)
    return measurement


def metric_source_test(*, source: MetricSource) -> collectors.Reading:
    """Fetch once and return the reading (or raise SourceError); records nothing."""
    return collectors.collect(source)


@transaction.atomic
def measurement_enter(*, kpi: KPI, at: datetime, value: float, by, note: str = "") -> Measurement:
    """A value entered by hand, then the KPI's status."""
    measurement = measurement_record(kpi=kpi, at=at, value=value, by=by, note=note)
    transaction.on_commit(lambda: kpi_status_refresh(kpi=kpi))
    return measurement


class MeasurementConflict(MeasurementRefused):
    """A pushed value differs from the one stored (or sent earlier in the batch) for its KPI
    and moment; `index` is its position in the batch."""

    def __init__(self, message: str, *, index: int):
        super().__init__(message)
        self.index = index


PUSH_ATTEMPTS = 3


def _lookup_chunk() -> int:
    """Moments per lookup query: all of a batch on PostgreSQL, within SQLite's limit on
    parameters there."""
    limit = connection.features.max_query_params
    return 5_000 if limit is None else min(5_000, limit - 10)


def _stored_values(keys: set[tuple[int, datetime]]) -> dict[tuple[int, datetime], float]:
    """The values already stored for these (KPI id, moment) pairs, a few queries for any
    number of them."""
    by_kpi: dict[int, list[datetime]] = {}
    for kpi_id, at in keys:
        by_kpi.setdefault(kpi_id, []).append(at)
    stored = {}
    if connection.vendor == "postgresql":
        # One array parameter: an IN list of thousands of placeholders took longer to send
        # than to answer.
        with connection.cursor() as cursor:
            for kpi_id, moments in by_kpi.items():
                cursor.execute(
                    "SELECT at, value FROM metrics_measurement WHERE kpi_id = %s AND at = ANY(%s)",
                    [kpi_id, moments],
                )
                stored.update({(kpi_id, at): value for at, value in cursor.fetchall()})
        return stored
    chunk = _lookup_chunk()
    for kpi_id, moments in by_kpi.items():
        for start in range(0, len(moments), chunk):
            rows = Measurement.objects.filter(
                kpi_id=kpi_id, at__in=moments[start : start + chunk]
            ).values_list("at", "value")
            stored.update({(kpi_id, at): value for at, value in rows})
    return stored


def _insert_pushed(items: list[dict], *, by) -> None:
    """Insert new pushed values: with COPY on PostgreSQL (a fifth of the time a multi-row
    INSERT takes for thousands of rows), in bulk elsewhere. Unique violations surface as
    Django's IntegrityError either way."""
    if connection.vendor != "postgresql":
        Measurement.objects.bulk_create(
            [
                Measurement(
                    kpi=item["kpi"],
                    at=item["at"],
                    value=item["value"],
                    note=item.get("note", ""),
                    recorded_by=by,
                )
                for item in items
            ],
            batch_size=1000,
        )
        return
    now = timezone.now()
    by_id = getattr(by, "pk", None)
    columns = "kpi_id, at, value, note, recorded_by_id, partial, recorded_at"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY metrics_measurement ({columns}) FROM STDIN") as copy,
    ):
        for item in items:
            copy.write_row(
                (item["kpi"].pk, item["at"], item["value"], item.get("note", ""), by_id, False, now)
            )


def measurements_push(*, kpi_values: list[dict], by) -> tuple[int, int]:
    """Record a batch of pushed values, all or none: (created, already there). A value sent
    again for the same KPI and moment is counted once; a different one refuses the batch
    (MeasurementConflict names its position). Set-based: a lookup per KPI (per 500 moments on
    SQLite) and one bulk insert, whatever the batch's size."""
    batch: dict[tuple[int, datetime], tuple[int, dict]] = {}
    repeated = 0
    for index, item in enumerate(kpi_values):
        key = (item["kpi"].pk, item["at"])
        if key in batch:
            first = batch[key][1]
            if first["value"] != item["value"]:
                raise MeasurementConflict(
                    f"{item['kpi']} is sent {first['value']:g} and {item['value']:g} for "
                    f"{item['at'].isoformat()}; one value per moment.",
                    index=index,
                )
            repeated += 1
            continue
        batch[key] = (index, item)
    for attempt in range(PUSH_ATTEMPTS):
        try:
            with transaction.atomic():
                stored = _stored_values(set(batch))
                for key, value in stored.items():
                    index, item = batch[key]
                    if value != item["value"]:
                        raise MeasurementConflict(
                            f"{item['kpi']} already has {value:g} at {item['at'].isoformat()}; "
                            f"{item['value']:g} was refused (measurements are not changed).",
                            index=index,
                        )
                _insert_pushed(
                    [item for key, (_, item) in batch.items() if key not in stored], by=by
                )
            break
        except IntegrityError as error:
            # Another writer stored one of these moments since the lookup: look again, and
            # the same value counts as already recorded, a different one as a conflict.
            if attempt == PUSH_ATTEMPTS - 1:
                raise MeasurementRefused(
                    "Other writers kept storing these moments; nothing was recorded, send the "
                    "batch again."
                ) from error
    for kpi in {item["kpi"] for _, item in batch.values()}:
        kpi_status_refresh(kpi=kpi)
    return len(batch) - len(stored), len(stored) + repeated


@transaction.atomic
def kpi_save(*, kpi: KPI) -> KPI:
    """Save a new or changed KPI, validated as its form is, then judge its status anew (a
    changed target may change it)."""
    kpi.full_clean()
    kpi.save()
    kpi_status_refresh(kpi=kpi)
    kpi.refresh_from_db(fields=[*STATUS_FIELDS])
    return kpi


@transaction.atomic
def metric_source_save(*, source: MetricSource) -> MetricSource:
    """Save a KPI's source, its configuration checked for its kind; collected from now on."""
    source.full_clean()
    source.next_due_at = timezone.now()
    source.save()
    return source


@transaction.atomic
def kpi_pin_set(*, kpi: KPI, user, pinned: bool) -> None:
    """Pin `kpi` on its project's dashboard for `user` (it shows first, for them), or unpin it.
    Pinning twice is pinning once."""
    if pinned:
        KPIPin.objects.get_or_create(user=user, kpi=kpi)
    else:
        KPIPin.objects.filter(user=user, kpi=kpi).delete()
