"""A KPI's latest value is read one way: its newest measurement by time, whatever order the
values arrived in, for pages, gates and derived sources alike."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gates.evaluation import evaluate_gate
from metrics import selectors
from metrics.collection.collectors import collect
from metrics.models import MetricSource
from projects.models import Project
from tests.factories import GateCriterionFactory, GateFactory, KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi(project_a):
    kpi = KPIFactory(project=project_a, critical=True)
    now = timezone.now()
    # The newest value arrives last but one: a backfill of an older value comes after it.
    MeasurementFactory(kpi=kpi, at=now - timedelta(minutes=2), value=300)
    MeasurementFactory(kpi=kpi, at=now - timedelta(minutes=1), value=420)
    MeasurementFactory(kpi=kpi, at=now - timedelta(minutes=3), value=100)
    return kpi


def test_every_reader_takes_the_newest_value_by_time(kpi, project_a):
    projects = Project.objects.filter(pk=project_a.pk)
    assert selectors.kpi_latest_values(kpi_ids=[kpi.pk])[kpi.pk][1] == 420
    assert selectors.kpi_list_for_project(project=project_a).get(pk=kpi.pk).latest_value == 420
    (tile,) = selectors.kpi_tiles(projects=projects)
    assert tile.kpi.latest_value == 420
    derived = MetricSource(
        kpi=KPIFactory(project=project_a),
        kind="derived",
        config={"expression": "x", "inputs": {"x": kpi.pk}},
    )
    assert collect(derived).value == 420
    gate = GateFactory(project=project_a)
    GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="lt", threshold=500)
    assert evaluate_gate(gate).criteria[0].value == 420


def test_a_derived_source_reads_its_inputs_in_one_query(project_a, kpi, django_assert_num_queries):
    others = [KPIFactory(project=project_a) for _ in range(3)]
    for other in others:
        MeasurementFactory.create_batch(5, kpi=other, value=1)
    inputs = {"a": kpi.pk, **{f"k{i}": other.pk for i, other in enumerate(others)}}
    derived = MetricSource(
        kpi=KPIFactory(project=project_a),
        kind="derived",
        config={"expression": "a + k0 + k1 + k2", "inputs": inputs},
    )
    with django_assert_num_queries(1):
        assert collect(derived).value == 423
