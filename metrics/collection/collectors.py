"""Reading one number from each kind of metric source. Every bad answer is a SourceError with
a message for the person who configured the source; nothing here ever returns a made-up 0."""

import json
import math
import sqlite3
import statistics
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import jmespath
import psycopg
import psycopg.conninfo
from django.conf import settings
from jmespath.exceptions import JMESPathError
from simpleeval import EvalWithCompoundTypes, InvalidExpression, NameNotDefined

from metrics import selectors as metric_selectors
from metrics.collection.http_client import FetchError, fetch
from metrics.collection.source_config import HTTP_TIMEOUT_SECONDS_MAX, sql_select_problem
from metrics.models import KPI, MetricSource, SourceKind

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


def _timeout(config: dict, default: float | None = None) -> float | None:
    """The source's own read timeout, kept within the most a collection may wait."""
    value = config.get("timeout_seconds", default)
    return None if value is None else min(float(value), HTTP_TIMEOUT_SECONDS_MAX)


def _prometheus(source: MetricSource) -> Reading:
    config = source.config
    timeout = _timeout(config, 10)
    answer = _fetch(
        config["url"].rstrip("/") + "/api/v1/query",
        params={"query": config["query"], "timeout": f"{timeout:g}s"},
        timeout=timeout + 2,
    )
    if answer.status >= 500 and answer.status != 503:
        raise SourceError(f"Prometheus answered HTTP {answer.status}.", transient=True)
    _refuse_redirect(answer, "Prometheus")
    body = _json(answer, "Prometheus")
    if not isinstance(body, dict) or "status" not in body:
        raise SourceError(
            f"The answer (HTTP {answer.status}) is not one of Prometheus' query API: "
            f"{answer.text()[:120]!r}.",
            transient=answer.status == 503,
        )
    if body.get("status") != "success":
        error = str(body.get("error", "no message"))[:500]
        kind = str(body.get("errorType", "error"))[:80]
        raise SourceError(
            f"Prometheus refused the query (HTTP {answer.status}, {kind}): {error}",
            transient=answer.status == 503,
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise SourceError(f"Prometheus' answer has no 'data' object: {answer.text()[:120]!r}.")
    warnings = body.get("warnings") or []
    if not isinstance(warnings, list):
        warnings = [warnings]
    result_type, result = data.get("resultType"), data.get("result")
    if result_type == "scalar":
        values = [_sample(result, "The scalar")]
    elif result_type == "vector":
        if not isinstance(result, list):
            raise SourceError("Prometheus' vector has no list of series.")
        if not result:
            raise SourceError("The query returned no series (an empty vector).")
        values = [
            _sample(series.get("value"), f"Series {series.get('metric', {})}")
            if isinstance(series, dict)
            else _sample(None, "A series")
            for series in result
        ]
    else:
        shown = str(result_type)[:40]
        raise SourceError(f"The query returned a {shown}; use an instant vector or scalar.")
    aggregate = config.get("aggregate")
    if len(values) > 1 and aggregate not in AGGREGATIONS:
        raise SourceError(
            f"The query returned {len(values)} series; aggregate them in PromQL (e.g. sum(...)) "
            "or choose an aggregation (sum, avg, max, min)."
        )
    value = AGGREGATIONS[aggregate](values) if len(values) > 1 else values[0]
    note = "; ".join(str(warning) for warning in warnings)[:1000]
    return Reading(value, partial=bool(warnings), note=note)


def _refuse_redirect(answer, what: str) -> None:
    """A redirect left over after following them (one without a usable Location) is no answer."""
    if 300 <= answer.status < 400:
        where = f" to {answer.location[:200]}" if answer.location else ""
        raise SourceError(f"{what} answered HTTP {answer.status} (a redirect{where}), not a value.")


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
    answer = _fetch(config["url"], headers=_headers(source), timeout=_timeout(config))
    if answer.status >= 500:
        raise SourceError(f"The endpoint answered HTTP {answer.status}.", transient=True)
    _refuse_redirect(answer, "The endpoint")
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
    """Send the requests one after another, all within one collection's time: the connect
    plus the read timeout. Requests the time left no room for are not sent (a partial reading)."""
    config = source.config
    expected = int(config.get("expect_status", 200))
    count = int(config.get("requests", 5))
    follow = bool(config.get("follow_redirects", True))
    timeout = _timeout(config) or settings.METRIC_HTTP_READ_TIMEOUT
    deadline = time.monotonic() + settings.METRIC_HTTP_CONNECT_TIMEOUT + timeout
    latencies, successes, problems, sent, transient = [], 0, [], 0, False
    for _ in range(count):
        if time.monotonic() >= deadline:
            problems.append(
                f"{count - sent} of {count} not sent: the collection's time "
                f"({settings.METRIC_HTTP_CONNECT_TIMEOUT:g} s + {timeout:g} s) ran out"
            )
            break
        sent += 1
        try:
            answer = fetch(
                config["url"],
                headers=_headers(source),
                timeout=timeout,
                deadline=deadline,
                follow_redirects=follow,
            )
        except FetchError as error:
            problems.append(str(error))
            transient = transient or error.transient
            continue
        latencies.append(answer.elapsed_ms)
        if answer.status == expected:
            successes += 1
        elif 300 <= answer.status < 400 and not follow:
            problems.append(
                f"HTTP {answer.status} (a redirect to {answer.location[:200] or 'nowhere'}, "
                "not followed: 'follow_redirects' is off)"
            )
        else:
            problems.append(f"HTTP {answer.status}")
    measure = config.get("measure", "p95_ms")
    if measure == "success_rate":
        note = f"{successes} of {sent} requests answered {expected}"
        if sent < count:
            note += f"; {problems[-1]}"
        return Reading(successes / sent * 100, partial=sent < count, note=note)
    if not latencies:
        raise SourceError(
            f"None of {count} requests got an answer: {problems[0]}", transient=transient
        )
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
    # Checked again here, not only when the source was saved: the rule may be newer than it.
    problem = sql_select_problem(query)
    if problem:
        raise SourceError(problem)
    try:
        rows = sql_query_rows(
            url=url,
            query=query.strip().rstrip(";").rstrip(),
            timeout=settings.METRIC_SQL_TIMEOUT_SECONDS,
        )
    except ValueError as error:
        raise SourceError(f"Database '{name}' {error}") from error
    except (sqlite3.Error, psycopg.Error) as error:
        raise SourceError(f"The query failed on '{name}': {error}".strip()) from error
    if len(rows) != 1 or len(rows[0]) != 1:
        raise SourceError(
            f"The query must return one row with one column; it returned {len(rows)} row(s)."
        )
    return Reading(_number(rows[0][0], "The query's result"))


def sql_query_rows(*, url: str, query: str, timeout: float) -> list[tuple]:
    """Up to two rows of `query`, run as one statement in a read-only session that ends it
    after `timeout` seconds: the database's own guard, whatever the text check let through."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite_rows("/" + parts.path.lstrip("/"), query, timeout)
    if parts.scheme in {"postgres", "postgresql"}:
        return _postgres_rows(url, query, timeout)
    raise ValueError(f"uses {parts.scheme}, which SQL sources do not read.")


# What a metric query may do in SQLite: read tables, call functions, recurse in a CTE. No
# ATTACH, PRAGMA, writes or schema changes, whatever the text managed to say.
_SQLITE_READING = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}


def _sqlite_authorize(action, *args):
    return sqlite3.SQLITE_OK if action in _SQLITE_READING else sqlite3.SQLITE_DENY


def _sqlite_rows(path: str, query: str, timeout: float):
    connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=timeout)
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(_sqlite_authorize)
        deadline = time.monotonic() + timeout
        # A non-zero answer from the handler interrupts the query: the statement timeout.
        connection.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        # execute() itself refuses a second statement ("only execute one statement at a time").
        return connection.execute(query).fetchmany(2)
    finally:
        connection.close()


def _postgres_rows(url: str, query: str, timeout: float):
    milliseconds = int(timeout * 1000)
    # Read-only for the whole session, not only the first transaction, and with a statement
    # timeout from the first statement on.
    guards = f"-c default_transaction_read_only=on -c statement_timeout={milliseconds}"
    # Kept beside the connection's own options (a search_path, say), and after them: they win.
    own = psycopg.conninfo.conninfo_to_dict(url).get("options", "")
    options = f"{own} {guards}".strip()
    with psycopg.connect(
        url, connect_timeout=max(1, math.ceil(timeout)), autocommit=False, options=options
    ) as connection:
        connection.execute("SET TRANSACTION READ ONLY")
        connection.execute(f"SET LOCAL statement_timeout = {milliseconds}")
        # A prepared statement is one statement: PostgreSQL refuses "SELECT 1; COMMIT; ..."
        # in the extended protocol, where the simple one would run every part.
        rows = connection.execute(query, prepare=True).fetchmany(2)
        connection.rollback()
        return rows


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
    newest = metric_selectors.kpi_latest_values(kpi_ids=inputs.values())
    latest = {kpi_id: value for kpi_id, (_, value) in newest.items()}
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
