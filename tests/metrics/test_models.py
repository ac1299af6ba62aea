from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from metrics.collection.source_config import validate_source_config
from metrics.models import MetricSource
from tests.factories import KPIFactory, MeasurementFactory, MetricSourceFactory

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_between_needs_an_ordered_pair_of_bounds():
    assert KPIFactory(comparator="between", target_value=1, target_value_high=5)
    refused(lambda: KPIFactory(comparator="between", target_value=5, target_value_high=1))
    refused(lambda: KPIFactory(comparator="between", target_value=1, target_value_high=None))


def test_other_comparators_take_one_value():
    refused(lambda: KPIFactory(comparator="lt", target_value=1, target_value_high=5))
    refused(lambda: KPIFactory(comparator="lt", target_value=None))
    refused(lambda: KPIFactory(comparator=None, target_value=3))


def test_a_kpi_without_a_numeric_target_keeps_the_plans_words():
    kpi = KPIFactory(comparator=None, target_value=None, target_text="No relaxation of controls")
    assert kpi.target_display == "No relaxation of controls"


def test_target_display_reads_in_words():
    assert KPIFactory(comparator="lt", target_value=500, unit="ms").target_display == "below 500 ms"
    assert KPIFactory(comparator="lte", target_value=2, unit="s").target_display == "at most 2 s"
    assert KPIFactory(comparator="gte", target_value=99.9, unit="%").target_display == (
        "at least 99.9 %"
    )
    assert KPIFactory(comparator="gt", target_value=0.01, unit="").target_display == "above 0.01"
    assert KPIFactory(comparator="eq", target_value=1250, unit="").target_display == "exactly 1,250"
    between = KPIFactory(comparator="between", target_value=10, target_value_high=20, unit="ms")
    assert between.target_display == "between 10 and 20 ms"


def test_kpi_cadence_must_be_positive():
    refused(lambda: KPIFactory(cadence=timedelta(0)))


def test_a_kpi_has_at_most_one_active_source():
    source = MetricSourceFactory()
    refused(lambda: MetricSourceFactory(kpi=source.kpi))
    assert MetricSourceFactory(kpi=source.kpi, is_active=False)


def test_sources_collect_at_most_every_ten_seconds():
    refused(lambda: MetricSourceFactory(interval=timedelta(seconds=5)))


def test_one_measurement_per_kpi_and_moment():
    measurement = MeasurementFactory()
    refused(lambda: MeasurementFactory(kpi=measurement.kpi, at=measurement.at))


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("prometheus", {"query": "up"}, "'url' is required"),
        ("prometheus", {"url": "ftp://prom", "query": "up"}, "http:// or https://"),
        ("prometheus", {"url": "http://127.0.0.1:9090"}, "'query' is required"),
        ("http_json", {"url": "http://127.0.0.1/x"}, "'json_path' is required"),
        ("http_probe", {"url": "http://127.0.0.1/", "measure": "color"}, "'measure'"),
        ("http_probe", {"url": "http://127.0.0.1/", "expect_status": 42}, "'expect_status'"),
        ("sql", {"database": "demo-legacy", "query": "DELETE FROM providers"}, "read-only SELECT"),
        ("sql", {"database": "postgres://evil@host/db", "query": "SELECT 1"}, "No database called"),
        ("http_json", {"url": "http://127.0.0.1/x", "json_path": "a[?"}, "not valid JMESPath"),
        ("derived", {"expression": "a +", "inputs": {"a": 1}}, "cannot be evaluated"),
        ("derived", {"expression": "__import__('os')", "inputs": {"a": 1}}, "cannot be evaluated"),
        ("prometheus", {"url": "http://p", "query": "up", "aggregate": "median"}, "aggregate"),
        ("prometheus", {"url": "http://p", "query": "up", "timeout_seconds": -1}, "positive"),
    ],
)
def test_source_config_is_checked_per_kind_with_a_message_to_act_on(kind, config, message):
    with pytest.raises(ValidationError) as error:
        validate_source_config(kind, config)
    assert message in str(error.value)


def test_a_well_formed_source_config_passes_full_clean():
    source = MetricSource(
        kpi=KPIFactory(),
        kind="prometheus",
        config={"url": "http://127.0.0.1:9090", "query": "histogram_quantile(0.95, x)"},
    )
    source.full_clean()


def test_an_unknown_source_kind_is_a_validation_error_not_a_crash():
    with pytest.raises(ValidationError, match="Unknown source kind"):
        validate_source_config("carrier-pigeon", {})
