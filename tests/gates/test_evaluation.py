"""A gate's KPI criterion is judged by the same rule as the KPI's own target."""

import pytest

from gates.evaluation import Result, evaluate_gate
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
