"""A gate's KPI criterion is judged by the same rules as the KPI's own target and status."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gates.evaluation import Result, evaluate_gate
from gates.models import Gate
from metrics import services as metric_services
from metrics.models import KPI
from metrics.status import meets
from tests.factories import GateCriterionFactory, GateFactory, KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db

# Equal within rounding relative to the size of the number, as the KPI's rule allows: a fixed
# absolute tolerance would call these two different.
TARGET, MEASURED = 1e12, 1e12 + 1


def test_a_criterion_and_its_kpi_agree_whether_a_value_equals_the_target(project_a):
    kpi = KPIFactory(project=project_a, comparator="eq", target_value=TARGET)
    MeasurementFactory(kpi=kpi, value=MEASURED)
    gate = GateFactory(project=project_a)
    GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="eq", threshold=TARGET)
    assert meets(kpi, MEASURED)
    assert evaluate_gate(gate).criteria[0].result == Result.MET


def test_a_value_clearly_off_an_equality_target_is_not_met_by_either(project_a):
    kpi = KPIFactory(project=project_a, comparator="eq", target_value=0)
    MeasurementFactory(kpi=kpi, value=1e-6)
    gate = GateFactory(project=project_a)
    GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="eq", threshold=0)
    assert not meets(kpi, 1e-6)
    assert evaluate_gate(gate).criteria[0].result == Result.NOT_MET


def test_a_kpi_criterion_counts_once_its_verdict_holds_as_the_kpi_confirms_a_change(project_a):
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms", confirm_readings=3)
    gate = GateFactory(project=project_a)
    GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="lt", threshold=500)
    now = timezone.now()
    MeasurementFactory(kpi=kpi, value=900, at=now - timedelta(minutes=4))
    first = evaluate_gate(gate, now=now).criteria[0]
    assert (first.result, first.confirmed) == (Result.NOT_MET, True)  # the first data

    MeasurementFactory(kpi=kpi, value=420, at=now - timedelta(minutes=3))
    MeasurementFactory(kpi=kpi, value=910, at=now - timedelta(minutes=2))
    MeasurementFactory(kpi=kpi, value=920, at=now - timedelta(minutes=1))
    (pending,) = evaluate_gate(gate, now=now).criteria
    assert (pending.result, pending.confirmed) == (Result.NOT_MET, False)
    assert pending.evidence.endswith(
        "(needs below 500); not yet confirmed: it counts once it holds for 3 readings (2 so far)"
    )

    MeasurementFactory(kpi=kpi, value=930, at=now)
    (held,) = evaluate_gate(gate, now=now).criteria
    assert (held.result, held.confirmed) == (Result.NOT_MET, True)
    assert "not yet confirmed" not in held.evidence

    # Or once the verdict has held for the KPI's confirm_after, however few readings came.
    KPI.objects.filter(pk=kpi.pk).update(confirm_readings=10, confirm_after=timedelta(minutes=3))
    gate = Gate.objects.get(pk=gate.pk)
    assert not evaluate_gate(gate, now=now).criteria[0].confirmed  # not met since 2 minutes ago
    assert evaluate_gate(gate, now=now + timedelta(minutes=1)).criteria[0].confirmed


def test_the_gate_page_and_the_kpi_page_tell_the_same_story_of_an_unconfirmed_breach(
    client, project_a, alice
):
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    gate = GateFactory(project=project_a)
    GateCriterionFactory(
        gate=gate, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    now = timezone.now()
    for minutes, value in [(2, 420), (1, 900)]:
        metric_services.measurement_record(
            kpi=kpi, at=now - timedelta(minutes=minutes), value=value
        )
        metric_services.kpi_status_refresh(kpi=kpi, now=now - timedelta(minutes=minutes))
    client.force_login(alice)
    kpi_page = client.get(reverse("kpi-detail", args=[kpi.pk])).content.decode()
    assert "On target" in kpi_page and "(breached, not yet confirmed)" in kpi_page
    assert (
        "Latest value misses the target; counted as breached once it holds for 2 readings"
        in kpi_page
    )
    gate_page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "Not met" in gate_page
    assert (
        "(needs below 500); not yet confirmed: it counts once it holds for 2 readings (1 so far)"
        in (gate_page)
    )


def test_a_criterion_names_its_value_s_moment_in_words_alike_for_every_reader(project_a):
    from datetime import UTC, datetime

    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=420, at=datetime(2026, 12, 3, 7, 28, 31, tzinfo=UTC))
    gate = GateFactory(project=project_a)
    GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="lt", threshold=500)
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    evidence = evaluate_gate(gate, now=now).criteria[0].evidence
    assert "API p95 latency = 420 ms at 3 Dec 2026, 07:28 UTC" in evidence
    # Evidence is kept as it was shown and compared when signing: it reads the same in any
    # reader's zone.
    with timezone.override("Europe/Berlin"):
        assert evaluate_gate(gate, now=now).criteria[0].evidence == evidence
