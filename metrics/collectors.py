"""Reading one number from each kind of metric source. Every bad answer is a SourceError with
a message for the person who configured the source; nothing here ever returns a made-up 0."""

import json
import math
import sqlite3
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jmespath
import psycopg
from django.conf import settings
from jmespath.exceptions import JMESPathError
from simpleeval import EvalWithCompoundTypes, InvalidExpression, NameNotDefined

from metrics.http_client import FetchError, fetch
from metrics.models import KPI, Measurement, MetricSource, SourceKind

AGGREGATIONS = {"sum": sum, "avg": statistics.fmean, "max": max, "min": min}


class SourceError(Exception):
    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Reading:
    value: float
    partial: bool = False
    note: str = ""


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = json.dumps(value)[:80]
        raise SourceError(f"{where} is not a number: {shown}.")
    number = float(value)
    if not math.isfinite(number):
        raise SourceError(f"{where} is {number}, not a finite number.")
    return number


def _json(answer, what: str):
    try:
        return json.loads(answer.body)
    except ValueError as error:
        raise SourceError(f"{what} did not answer with JSON: {answer.text()[:120]!r}.") from error


def _fetch(url, **kwargs):
    try:
        return fetch(url, **kwargs)
    except FetchError as error:
        raise SourceError(str(error), transient=error.transient) from error


def _prometheus(source: MetricSource) -> Reading:
    config = source.config
    timeout = float(config.get("timeout_seconds", 10))
    answer = _fetch(
        config["url"].rstrip("/") + "/api/v1/query",
        params={"query": config["query"], "timeout": f"{timeout:g}s"},
        timeout=timeout + 2,
    )
    if answer.status >= 500 and answer.status != 503:
        raise SourceError(f"Prometheus answered HTTP {answer.status}.", transient=True)
    body = _json(answer, "Prometheus")
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", "no message") if isinstance(body, dict) else body
        kind = body.get("errorType", "error") if isinstance(body, dict) else "error"
        raise SourceError(
            f"Prometheus refused the query (HTTP {answer.status}, {kind}): {error}",
            transient=answer.status == 503,
        )
    data = body.get("data", {})
    warnings = body.get("warnings") or []
    result_type, result = data.get("resultType"), data.get("result")
    if result_type == "scalar":
        values = [_sample(result, "The scalar")]
    elif result_type == "vector":
        if not result:
            raise SourceError("The query returned no series (an empty vector).")
        values = [
            _sample(series.get("value"), f"Series {series.get('metric', {})}") for series in result
        ]
    else:
        raise SourceError(f"The query returned a {result_type}; use an instant vector or scalar.")
    aggregate = config.get("aggregate")
    if len(values) > 1 and aggregate not in AGGREGATIONS:
        raise SourceError(
            f"The query returned {len(values)} series; aggregate them in PromQL (e.g. sum(...)) "
            "or choose an aggregation (sum, avg, max, min)."
        )
    value = AGGREGATIONS[aggregate](values) if len(values) > 1 else values[0]
    return Reading(value, partial=bool(warnings), note="; ".join(warnings))


def _sample(pair, where: str) -> float:
    if not isinstance(pair, list) or len(pair) != 2:
        raise SourceError(f"{where} has no [time, value] sample.")
    try:
        number = float(pair[1])
    except (TypeError, ValueError) as error:
        raise SourceError(f"{where} has the value {pair[1]!r}, not a number.") from error
    if not math.isfinite(number):
        raise SourceError(f"{where} is {pair[1]}, not a finite number.")
    return number


def _headers(source: MetricSource) -> dict:
    headers = dict(source.config.get("headers") or {})
    if source.secret and source.config.get("secret_header"):
        headers[source.config["secret_header"]] = source.secret
    return headers


def _http_json(source: MetricSource) -> Reading:
    config = source.config
    answer = _fetch(config["url"], headers=_headers(source), timeout=config.get("timeout_seconds"))
    if answer.status >= 500:
        raise SourceError(f"The endpoint answered HTTP {answer.status}.", transient=True)
    if answer.status >= 400:
        raise SourceError(f"The endpoint answered HTTP {answer.status}: {answer.text()[:120]!r}.")
    body = _json(answer, "The endpoint")
    try:
        found = jmespath.search(config["json_path"], body)
    except JMESPathError as error:
        raise SourceError(
            f"The expression {config['json_path']!r} is not valid JMESPath: {error}."
        ) from error
    if found is None:
        raise SourceError(f"Nothing found at {config['json_path']!r} in the answer.")
    return Reading(_number(found, f"The value at {config['json_path']!r}"))


def _http_probe(source: MetricSource) -> Reading:
    config = source.config
    expected = int(config.get("expect_status", 200))
    count = int(config.get("requests", 5))
    latencies, successes, problems = [], 0, []
    for _ in range(count):
        try:
            answer = fetch(
                config["url"], headers=_headers(source), timeout=config.get("timeout_seconds")
            )
        except FetchError as error:
            problems.append(str(error))
            continue
        latencies.append(answer.elapsed_ms)
        if answer.status == expected:
            successes += 1
        else:
            problems.append(f"HTTP {answer.status}")
    measure = config.get("measure", "p95_ms")
    if measure == "success_rate":
        note = f"{successes} of {count} requests answered {expected}"
        return Reading(successes / count * 100, note=note)
    if not latencies:
        raise SourceError(f"None of {count} requests got an answer: {problems[0]}", transient=True)
    latencies.sort()
    quantile = 0.5 if measure == "p50_ms" else 0.95
    index = min(len(latencies) - 1, math.ceil(quantile * len(latencies)) - 1)
    note = f"{len(latencies)} of {count} answered" + (f"; {problems[0]}" if problems else "")
    return Reading(round(latencies[index], 2), partial=bool(problems), note=note)


def _sql(source: MetricSource) -> Reading:
    name = source.config.get("database", "")
    url = settings.METRIC_SQL_DATABASES.get(name)
    if url is None:
        known = ", ".join(sorted(settings.METRIC_SQL_DATABASES)) or "none"
        raise SourceError(f"No database called '{name}' in METRIC_SQL_DATABASES (known: {known}).")
    query = source.config["query"]
    timeout = settings.METRIC_SQL_TIMEOUT_SECONDS
    parts = urlsplit(url)
    try:
        if parts.scheme == "sqlite":
            rows = _sqlite_rows("/" + parts.path.lstrip("/"), query, timeout)
        elif parts.scheme in {"postgres", "postgresql"}:
            rows = _postgres_rows(url, query, timeout)
        else:
            raise SourceError(
                f"Database '{name}' uses {parts.scheme}, which SQL sources do not read."
            )
    except (sqlite3.Error, psycopg.Error) as error:
        raise SourceError(f"The query failed on '{name}': {error}".strip()) from error
    if len(rows) != 1 or len(rows[0]) != 1:
        raise SourceError(
            f"The query must return one row with one column; it returned {len(rows)} row(s)."
        )
    return Reading(_number(rows[0][0], "The query's result"))


def _sqlite_rows(path: str, query: str, timeout: float):
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    try:
        deadline = time.monotonic() + timeout
        # A non-zero answer from the handler interrupts the query: the statement timeout.
        connection.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        return connection.execute(query).fetchmany(2)
    finally:
        connection.close()


def _postgres_rows(url: str, query: str, timeout: float):
    with psycopg.connect(url, connect_timeout=max(1, int(timeout)), autocommit=False) as connection:
        connection.execute("SET TRANSACTION READ ONLY")
        connection.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
        rows = connection.execute(query).fetchmany(2)
        connection.rollback()
        return rows


def latest_values(kpi_ids) -> dict[int, float]:
    """The newest value of each KPI, in one query per call."""
    values = {}
    for kpi_id, value in (
        Measurement.objects.filter(kpi_id__in=kpi_ids)
        .order_by("kpi_id", "-at")
        .values_list("kpi_id", "value")
    ):
        values.setdefault(kpi_id, value)
    return values


def evaluate_expression(expression: str, names: dict[str, float]) -> float:
    """Arithmetic over named numbers, with abs, min, max and round: no other code runs."""
    evaluator = EvalWithCompoundTypes(
        names=names, functions={"abs": abs, "min": min, "max": max, "round": round}
    )
    try:
        result = evaluator.eval(expression)
    except ZeroDivisionError as error:
        raise SourceError("The expression divides by zero with the current values.") from error
    except NameNotDefined as error:
        raise SourceError(
            f"The expression uses {error.name!r}, which is not one of its inputs."
        ) from error
    except (InvalidExpression, SyntaxError, TypeError) as error:
        raise SourceError(f"The expression cannot be evaluated: {error}.") from error
    return _number(result, "The expression's result")


def _derived(source: MetricSource) -> Reading:
    inputs: dict[str, int] = source.config["inputs"]
    latest = latest_values(inputs.values())
    missing = [name for name, kpi_id in inputs.items() if kpi_id not in latest]
    if missing:
        names = dict(
            KPI.objects.filter(pk__in=[inputs[n] for n in missing]).values_list("pk", "name")
        )
        described = ", ".join(f"{n} ({names.get(inputs[n], 'unknown KPI')})" for n in missing)
        raise SourceError(f"No value yet for: {described}.", transient=True)
    values = {name: latest[kpi_id] for name, kpi_id in inputs.items()}
    return Reading(evaluate_expression(source.config["expression"], values))


COLLECTORS = {
    SourceKind.PROMETHEUS: _prometheus,
    SourceKind.HTTP_JSON: _http_json,
    SourceKind.HTTP_PROBE: _http_probe,
    SourceKind.SQL: _sql,
    SourceKind.DERIVED: _derived,
}


def collect(source: MetricSource) -> Reading:
    """One reading from `source`, or SourceError saying exactly what went wrong."""
    if source.kind == SourceKind.MANUAL:
        raise SourceError("A manual source is not collected: enter its values by hand.")
    return COLLECTORS[source.kind](source)
