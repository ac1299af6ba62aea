"""A KPI changes status, and tells people, only once the new judgement holds: for its
`confirm_readings` readings in a row or for its `confirm_after`; swings that do not hold are
counted, not notified. Going stale and the first data are immediate."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from metrics import services
from metrics.models import KPIStatus
from notifications.models import Notification
from tests.factories import KPIFactory, MetricSourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi(project_a, alice):
    """p95 latency, target < 500 ms, confirmed after 2 readings (the default); alice manages
    the project and is told of breaches."""
    project_a.manager = alice
    project_a.save()
    return KPIFactory(project=project_a, name="API p95 latency", comparator="lt", target_value=500)


def read(kpi, values, *, start, step=timedelta(minutes=1), capture):
    """Record `values` one a `step` from `start`, judging the KPI after each as a poll does;
    e-mails queued on commit are sent. Returns the time of the last."""
    at = start
    for index, value in enumerate(values):
        at = start + index * step
        with capture(execute=True):
            services.measurement_record(kpi=kpi, at=at, value=value)
            services.kpi_status_refresh(kpi=kpi, now=at)
    return at


def breach_notices(user):
    return list(
        Notification.objects.filter(user=user, kind__in=["kpi_breached", "kpi_recovered"])
        .order_by("created_at")
        .values_list("kind", flat=True)
    )


def test_a_flapping_kpi_keeps_its_status_tells_nobody_and_counts_the_swings(
    kpi, alice, django_capture_on_commit_callbacks
):
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    read(kpi, [420], start=start, capture=django_capture_on_commit_callbacks)
    kpi.refresh_from_db()
    assert kpi.status == KPIStatus.ON_TARGET
    on_target_since = kpi.status_changed_at
    mail.outbox.clear()

    swings = [620, 410, 630, 400, 640, 420, 650, 430]
    read(
        kpi,
        swings,
        start=start + timedelta(minutes=1),
        capture=django_capture_on_commit_callbacks,
    )

    kpi.refresh_from_db()
    assert kpi.status == KPIStatus.ON_TARGET
    assert kpi.status_changed_at == on_target_since
    assert breach_notices(alice) == []
    assert mail.outbox == []
    assert kpi.flaps == 4
    assert kpi.flaps_since == start + timedelta(minutes=1)  # the first swing's reading
    assert kpi.pending_status is None


def test_a_breach_that_holds_for_its_readings_changes_the_status_and_notifies_once(
    kpi, alice, django_capture_on_commit_callbacks
):
    kpi.confirm_readings = 3
    kpi.save()
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    read(kpi, [420], start=start, capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()

    read(
        kpi,
        [620, 630],
        start=start + timedelta(minutes=1),
        capture=django_capture_on_commit_callbacks,
    )
    kpi.refresh_from_db()
    assert (kpi.status, kpi.pending_status) == (KPIStatus.ON_TARGET, KPIStatus.BREACHED)
    assert kpi.pending_since == start + timedelta(minutes=1)
    assert breach_notices(alice) == [] and mail.outbox == []

    confirmed_at = read(
        kpi,
        [640, 650, 660],
        start=start + timedelta(minutes=3),
        capture=django_capture_on_commit_callbacks,
    )
    kpi.refresh_from_db()
    assert (kpi.status, kpi.pending_status, kpi.flaps) == (KPIStatus.BREACHED, None, 0)
    assert kpi.status_changed_at == start + timedelta(minutes=3)  # the third breaching reading
    assert confirmed_at > kpi.status_changed_at
    assert breach_notices(alice) == ["kpi_breached"]
    (email,) = mail.outbox
    assert email.to == [alice.email]
    assert "It held for 3 readings in a row." in email.body


def test_a_change_held_for_confirm_after_counts_without_enough_readings(
    kpi, alice, django_capture_on_commit_callbacks
):
    kpi.confirm_readings = 10
    kpi.confirm_after = timedelta(minutes=15)
    kpi.save()
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    read(kpi, [420], start=start, capture=django_capture_on_commit_callbacks)
    first_breach = start + timedelta(minutes=5)
    read(
        kpi,
        [620, 630],
        start=first_breach,
        step=timedelta(minutes=5),
        capture=django_capture_on_commit_callbacks,
    )

    # The dispatcher's regular check confirms it once 15 minutes have passed, no reading needed.
    with django_capture_on_commit_callbacks(execute=True):
        services.kpi_status_refresh_stale(now=first_breach + timedelta(minutes=14))
    kpi.refresh_from_db()
    assert (kpi.status, kpi.pending_status) == (KPIStatus.ON_TARGET, KPIStatus.BREACHED)
    assert breach_notices(alice) == []

    with django_capture_on_commit_callbacks(execute=True):
        services.kpi_status_refresh_stale(now=first_breach + timedelta(minutes=15))
    kpi.refresh_from_db()
    assert (kpi.status, kpi.pending_status) == (KPIStatus.BREACHED, None)
    assert breach_notices(alice) == ["kpi_breached"]
    assert "It held for 15 minutes." in Notification.objects.get(user=alice).body


def test_a_value_that_swings_back_before_confirm_after_resets_the_clock(
    kpi, alice, django_capture_on_commit_callbacks
):
    kpi.confirm_readings = 10
    kpi.confirm_after = timedelta(minutes=15)
    kpi.save()
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    read(
        kpi,
        [420, 620, 410, 630],
        start=start,
        step=timedelta(minutes=5),
        capture=django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        # 15 minutes after the first breach, but only 5 after the latest one began.
        services.kpi_status_refresh_stale(now=start + timedelta(minutes=20))
    kpi.refresh_from_db()
    assert (kpi.status, kpi.flaps) == (KPIStatus.ON_TARGET, 1)
    assert kpi.pending_since == start + timedelta(minutes=15)
    assert breach_notices(alice) == []


def test_going_stale_and_coming_back_take_effect_at_once(
    kpi, alice, django_capture_on_commit_callbacks
):
    kpi.confirm_readings = 5
    kpi.cadence = timedelta(minutes=5)
    kpi.save()
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    # Out of no data, the first value judges at once.
    read(kpi, [620], start=start, capture=django_capture_on_commit_callbacks)
    kpi.refresh_from_db()
    assert kpi.status == KPIStatus.BREACHED
    read(kpi, [410], start=start + timedelta(minutes=1), capture=django_capture_on_commit_callbacks)

    assert services.kpi_status_refresh_stale(now=start + timedelta(minutes=12)) == 1
    kpi.refresh_from_db()
    assert (kpi.status, kpi.pending_status) == (KPIStatus.STALE, None)

    read(
        kpi, [400], start=start + timedelta(minutes=20), capture=django_capture_on_commit_callbacks
    )
    kpi.refresh_from_db()
    assert (kpi.status, kpi.pending_status) == (KPIStatus.ON_TARGET, None)


def test_confirm_readings_of_one_changes_the_status_at_every_reading(
    kpi, alice, django_capture_on_commit_callbacks
):
    kpi.confirm_readings = 1
    kpi.save()
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    read(kpi, [420, 620, 410], start=start, capture=django_capture_on_commit_callbacks)
    kpi.refresh_from_db()
    assert (kpi.status, kpi.flaps) == (KPIStatus.ON_TARGET, 0)
    assert breach_notices(alice) == ["kpi_breached", "kpi_recovered"]


def test_a_polled_value_swinging_across_the_target_changes_nothing_and_tells_nobody(
    kpi, alice, http_server, django_capture_on_commit_callbacks
):
    url, _ = http_server
    source = MetricSourceFactory(
        kpi=kpi,
        kind="http_json",
        config={"url": f"{url}/json/swinging?run={uuid.uuid4().hex}", "json_path": "p95_ms"},
    )
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    read(kpi, [300], start=start - timedelta(minutes=5), capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()

    polled = []
    for minute in range(6):  # 620, 410, 620, 410, 620, 410
        slot = start + timedelta(minutes=minute)
        with django_capture_on_commit_callbacks(execute=True):
            measurement = services.metric_source_poll(source_id=source.pk, slot=slot, now=slot)
        polled.append(measurement.value)

    assert polled == [620, 410, 620, 410, 620, 410]
    kpi.refresh_from_db()
    assert (kpi.status, kpi.flaps) == (KPIStatus.ON_TARGET, 3)
    assert breach_notices(alice) == [] and mail.outbox == []


def clock(moment) -> str:
    """`moment` as a reader in the portal's time zone reads it: the time today, else the day."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return f"{local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def test_the_kpi_page_says_what_is_pending_and_what_swung(
    client, kpi, alice, settings, django_capture_on_commit_callbacks
):
    settings.TIME_ZONE = "Asia/Kolkata"  # half an hour off any whole-hour zone
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    read(kpi, [420, 620, 410, 630], start=start, capture=django_capture_on_commit_callbacks)
    client.force_login(alice)
    page = client.get(reverse("kpi-detail", args=[kpi.pk])).content.decode()
    assert (
        "Latest value misses the target; counted as breached once it holds for 2 readings "
        f"(since {clock(start + timedelta(minutes=3))})." in page
    )
    assert (
        "Swung away from on target and back once since "
        f"{clock(start + timedelta(minutes=1))} without holding; not notified." in page
    )
    assert "(breached, not yet confirmed)" in page
    assert "Once 2 readings in a row agree" in page
