"""Every kind of source against real servers, and every bad answer they can give."""

import sqlite3

import psycopg
import pytest
from django.conf import settings

from metrics.collection.collectors import SourceError, collect, evaluate_expression, sql_query_rows
from metrics.collection.http_client import FetchError, check_host_allowed
from metrics.models import MetricSource
from tests.factories import KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


def source(kind, config, **fields):
    return MetricSource(kpi=KPIFactory(), kind=kind, config=config, **fields)


def fails(kind, config, message, **fields):
    with pytest.raises(SourceError) as error:
        collect(source(kind, config, **fields))
    assert message in str(error.value), str(error.value)
    return error.value


# Prometheus, the real one


def test_prometheus_instant_query_reads_a_real_series(prometheus):
    reading = collect(source("prometheus", {"url": prometheus, "query": 'up{job="prometheus"}'}))
    assert reading.value == 1.0 and not reading.partial


def test_prometheus_query_errors_carry_prometheuss_own_message(prometheus):
    error = fails(
        "prometheus", {"url": prometheus, "query": "sum("}, "Prometheus refused the query"
    )
    assert "HTTP 400, bad_data" in str(error) and "parse error" in str(error)


def test_an_empty_result_is_an_error_not_zero(prometheus):
    fails("prometheus", {"url": prometheus, "query": "no_such_metric_anywhere"}, "no series")


def test_several_series_need_an_aggregation(prometheus):
    query = "prometheus_build_info or vector(5)"  # two series: 1 and 5
    fails("prometheus", {"url": prometheus, "query": query}, "returned 2 series")
    reading = collect(source("prometheus", {"url": prometheus, "query": query, "aggregate": "sum"}))
    assert reading.value == 6


def test_prometheus_scalars_are_read(prometheus):
    assert (
        collect(source("prometheus", {"url": prometheus, "query": "scalar(vector(42))"})).value
        == 42
    )


def test_prometheus_warnings_store_a_partial_value(http_server):
    url, _ = http_server
    reading = collect(
        source("prometheus", {"url": f"{url}/fake-prometheus/warnings", "query": "x"})
    )
    assert (reading.value, reading.partial) == (7.0, True)
    assert "store down" in reading.note


def test_prometheus_503_is_a_transient_error_with_its_message(http_server):
    url, _ = http_server
    error = fails(
        "prometheus",
        {"url": f"{url}/fake-prometheus/unavailable", "query": "x"},
        "too many queries",
    )
    assert error.transient


def test_prometheus_422_keeps_its_message_and_is_not_retried(http_server):
    url, _ = http_server
    config = {"url": f"{url}/fake-prometheus/unprocessable", "query": "x"}
    error = fails("prometheus", config, "HTTP 422, execution): query processing would load")
    assert not error.transient


def test_prometheus_nan_is_an_error(http_server):
    url, _ = http_server
    fails("prometheus", {"url": f"{url}/fake-prometheus/nan", "query": "x"}, "not a finite number")


# HTTP JSON and probes, against a real server on loopback


def test_http_json_reads_the_number_at_the_jmespath(http_server):
    url, _ = http_server
    reading = collect(source("http_json", {"url": f"{url}/json/ok", "json_path": "data.p95_ms"}))
    assert reading.value == 420.5


def test_the_secret_header_is_sent_but_never_in_the_config(http_server):
    url, server = http_server
    collect(
        source(
            "http_json",
            {"url": f"{url}/json/ok", "json_path": "data.p95_ms", "secret_header": "Authorization"},
            secret="Bearer s3cr3t",
        )
    )
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer s3cr3t"


@pytest.mark.parametrize(
    ("path", "json_path", "message"),
    [
        ("/json/string", "data.p95_ms", 'is not a number: "fast"'),
        ("/json/bool", "data.p95_ms", "is not a number: true"),
        ("/json/nan", "data.p95_ms", "not a finite number"),
        ("/json/infinity", "data.p95_ms", "not a finite number"),
        ("/json/missing", "data.p95_ms", "Nothing found at 'data.p95_ms'"),
        ("/json/ok", "data.list", "is not a number: [1, 2]"),
        ("/not-json", "data.p95_ms", "did not answer with JSON"),
        ("/error/500", "data.p95_ms", "answered HTTP 500"),
        ("/error/404", "data.p95_ms", "answered HTTP 404"),
        ("/big", "pad", "larger than the 1000000 bytes allowed"),  # declared length
    ],
)
def test_http_json_bad_answers_are_errors_with_a_reason(http_server, path, json_path, message):
    url, _ = http_server
    fails("http_json", {"url": f"{url}{path}", "json_path": json_path}, message)


def test_a_server_that_is_down_is_a_transient_error():
    error = fails(
        "http_json", {"url": "http://127.0.0.1:9/x", "json_path": "a"}, "Could not connect"
    )
    assert error.transient


def test_a_slow_server_times_out(http_server, settings):
    settings.METRIC_HTTP_READ_TIMEOUT = 0.5
    url, _ = http_server
    error = fails("http_json", {"url": f"{url}/slow", "json_path": "data.p95_ms"}, "time limit")
    assert error.transient


def test_hosts_outside_the_allowed_networks_are_refused(settings):
    settings.METRIC_HTTP_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    with pytest.raises(FetchError, match=r"resolves to 127\.0\.0\.1, a loopback address, which"):
        check_host_allowed("http://localhost:8000/health/")


def test_probe_measures_latency_and_success_rate(http_server):
    url, _ = http_server
    latency = collect(source("http_probe", {"url": f"{url}/health", "requests": 4}))
    assert 0 < latency.value < 1000 and latency.note == "4 of 4 answered"
    rate = collect(
        source(
            "http_probe", {"url": f"{url}/flaky-status", "requests": 4, "measure": "success_rate"}
        )
    )
    assert rate.value == 50.0


def test_a_probe_that_reaches_nothing_is_an_error():
    fails(
        "http_probe",
        {"url": "http://127.0.0.1:9/", "requests": 2},
        "None of 2 requests got an answer",
    )


# SQL, on the database the suite runs on (PostgreSQL in CI's second run)


@pytest.fixture
def warehouse(settings):
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        url = f"sqlite:///{name}"
    else:
        import os
        from urllib.parse import urlsplit, urlunsplit

        url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))
    settings.METRIC_SQL_DATABASES = {"warehouse": url}
    return connection.vendor


@pytest.mark.django_db(transaction=True)
def test_sql_counts_rows_on_a_named_database(warehouse):
    KPIFactory.create_batch(3)
    reading = collect(
        source("sql", {"database": "warehouse", "query": "SELECT count(*) FROM metrics_kpi"})
    )
    assert reading.value == 4  # three, and the one the source belongs to


@pytest.mark.django_db(transaction=True)
def test_sql_runs_read_only(warehouse):
    # The text check refuses anything but one SELECT before connecting...
    error = fails(
        "sql", {"database": "warehouse", "query": "DELETE FROM metrics_kpi"}, "read-only SELECT"
    )
    assert not error.transient
    # ...and the connection itself refuses to write, should a write ever get past the check.
    with pytest.raises((sqlite3.Error, psycopg.Error)) as refused:
        sql_query_rows(
            url=settings.METRIC_SQL_DATABASES["warehouse"],
            query="DELETE FROM metrics_kpi",
            timeout=5,
        )
    assert "read-only" in str(refused.value) or "not authorized" in str(refused.value)
    assert KPIFactory._meta.model.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sql_statements_time_out(warehouse, settings):
    settings.METRIC_SQL_TIMEOUT_SECONDS = 1
    slow = (
        "SELECT count(*) FROM generate_series(1, 1) WHERE pg_sleep(5) IS NOT NULL"
        if warehouse == "postgresql"
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
        "SELECT count(*) FROM n"
    )
    fails("sql", {"database": "warehouse", "query": slow}, "The query failed")


@pytest.mark.django_db(transaction=True)
def test_sql_must_return_one_number(warehouse):
    fails(
        "sql",
        {"database": "warehouse", "query": "SELECT id, name FROM metrics_kpi"},
        "one row with one column",
    )
    fails("sql", {"database": "unknown", "query": "SELECT 1"}, "No database called 'unknown'")


# Derived values


def test_derived_values_evaluate_over_other_kpis_latest_values():
    old, new = KPIFactory(), KPIFactory()
    MeasurementFactory(kpi=old, value=1000)
    MeasurementFactory(kpi=new, value=999)
    config = {"expression": "abs(old - new) / old * 100", "inputs": {"old": old.pk, "new": new.pk}}
    assert collect(source("derived", config)).value == pytest.approx(0.1)


def test_derived_without_inputs_yet_or_dividing_by_zero_is_an_error():
    old, new = KPIFactory(), KPIFactory()
    config = {"expression": "new / old", "inputs": {"old": old.pk, "new": new.pk}}
    fails("derived", config, "No value yet for: old")
    MeasurementFactory(kpi=old, value=0)
    MeasurementFactory(kpi=new, value=3)
    fails("derived", config, "divides by zero")


@pytest.mark.parametrize(
    "expression", ["__import__('os').system('id')", "open('/etc/passwd')", "(1).__class__"]
)
def test_the_evaluator_runs_arithmetic_only(expression):
    with pytest.raises(SourceError):
        evaluate_expression(expression, {"a": 1.0})
