"""What each kind of metric source needs in its configuration, checked before it is saved."""

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import jmespath
import simpleeval
import sqlparse
from django.conf import settings
from django.core.exceptions import ValidationError
from jmespath.exceptions import JMESPathError
from sqlparse import tokens as sql_tokens

from metrics.collection.http_client import FetchError, check_host_allowed

Config = dict[str, Any]

# The longest a source may ask collection to wait for an answer: with the connect timeout it
# keeps a poll well inside the poll task's time limit.
HTTP_TIMEOUT_SECONDS_MAX = 30

# Words that make a statement do something other than read, wherever they appear in it.
_SQL_NOT_READING = {
    "INTO", "COPY", "GRANT", "REVOKE", "LOCK", "CALL", "EXEC", "EXECUTE", "DO", "SET", "RESET",
    "PRAGMA", "ATTACH", "DETACH", "VACUUM", "REINDEX", "CLUSTER", "COMMIT", "ROLLBACK", "BEGIN",
    "SAVEPOINT", "RELEASE", "LISTEN", "NOTIFY", "UNLISTEN", "PREPARE", "DEALLOCATE", "DECLARE",
    "LOAD", "REFRESH", "DISCARD", "SHARE",
}  # fmt: skip


def _require_text(config: Config, key: str, what: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({"config": f"'{key}' is required: {what}."})
    return value


def _require_http_url(config: Config, key: str = "url") -> None:
    url = _require_text(config, key, "an http:// or https:// address")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError({"config": f"'{key}' must be an http:// or https:// address."})
    if _is_address(parts.hostname):
        # A literal address is judged now; a name is judged each time it is resolved.
        try:
            check_host_allowed(url)
        except FetchError as error:
            raise ValidationError({"config": f"'{key}' cannot be collected: {error}"}) from None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _optional_positive_number(config: Config, key: str, most: float | None = None) -> None:
    if key in config:
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValidationError({"config": f"'{key}' must be a positive number."})
        if most is not None and value > most:
            raise ValidationError({"config": f"'{key}' is at most {most}."})


def _prometheus(config: Config) -> None:
    _require_http_url(config)
    _require_text(config, "query", "the PromQL expression to evaluate")
    _optional_positive_number(config, "timeout_seconds", HTTP_TIMEOUT_SECONDS_MAX)
    if config.get("aggregate") not in (None, "", "sum", "avg", "max", "min"):
        raise ValidationError({"config": "'aggregate' is one of sum, avg, max, min."})


def _headers(config: Config) -> None:
    headers = config.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ValidationError({"config": "'headers' maps header names to text values."})
    if "secret_header" in config and not isinstance(config["secret_header"], str):
        raise ValidationError(
            {"config": "'secret_header' names the header that carries the secret."}
        )


def _http_json(config: Config) -> None:
    _require_http_url(config)
    path = _require_text(config, "json_path", "a JMESPath to the number, e.g. data.p95_ms")
    try:
        jmespath.compile(path)
    except JMESPathError as error:
        raise ValidationError({"config": f"'json_path' is not valid JMESPath: {error}"}) from None
    _headers(config)
    _optional_positive_number(config, "timeout_seconds", HTTP_TIMEOUT_SECONDS_MAX)


def _http_probe(config: Config) -> None:
    _require_http_url(config)
    measure = config.get("measure", "p95_ms")
    if measure not in {"p50_ms", "p95_ms", "success_rate"}:
        raise ValidationError({"config": "'measure' is 'p50_ms', 'p95_ms' or 'success_rate'."})
    requests = config.get("requests", 5)
    if isinstance(requests, bool) or not isinstance(requests, int) or not 1 <= requests <= 50:
        raise ValidationError({"config": "'requests' is how many to send: 1 to 50."})
    _headers(config)
    if "expect_status" in config and not (
        isinstance(config["expect_status"], int) and 100 <= config["expect_status"] <= 599
    ):
        raise ValidationError({"config": "'expect_status' must be an HTTP status from 100 to 599."})
    if not isinstance(config.get("follow_redirects", True), bool):
        raise ValidationError({"config": "'follow_redirects' is true or false."})
    _optional_positive_number(config, "timeout_seconds", HTTP_TIMEOUT_SECONDS_MAX)


def _sql(config: Config) -> None:
    database = _require_text(config, "database", "the name of a database in METRIC_SQL_DATABASES")
    if database not in settings.METRIC_SQL_DATABASES:
        known = ", ".join(sorted(settings.METRIC_SQL_DATABASES)) or "none configured"
        raise ValidationError({"config": f"No database called '{database}' (known: {known})."})
    _require_text(config, "query", "a SELECT that returns one number")
    problem = sql_select_problem(config["query"])
    if problem:
        raise ValidationError({"config": problem})


def sql_select_problem(query: str) -> str | None:
    """Why `query` is not exactly one read-only SELECT, or None. A conservative first check:
    the connection itself is read-only and runs one statement, whatever this lets through."""
    statements = [statement for statement in sqlparse.parse(query) if statement.value.strip()]
    if len(statements) != 1:
        return (
            f"'query' must be a read-only SELECT statement: one statement, not {len(statements)}."
        )
    statement = statements[0]
    if statement.get_type() != "SELECT":
        return "'query' must be a read-only SELECT statement."
    for token in statement.flatten():
        word = token.normalized.upper()
        if token.ttype in sql_tokens.Keyword.DDL or (
            token.ttype in sql_tokens.Keyword.DML and word != "SELECT"
        ):
            return f"'query' must be a read-only SELECT statement; it contains {word}."
        if token.ttype in sql_tokens.Keyword and word in _SQL_NOT_READING:
            return f"'query' must be a read-only SELECT statement; it contains {word}."
    meaningful = [
        token
        for token in statement.flatten()
        if not token.is_whitespace and token.ttype not in sql_tokens.Comment
    ]
    if any(token.value == ";" for token in meaningful[:-1]):
        return "'query' must be a read-only SELECT statement: one statement, no ';' inside."
    return None


def _derived(config: Config) -> None:
    _require_text(config, "expression", "arithmetic over the inputs, e.g. a / b * 100")
    inputs = config.get("inputs")
    if not isinstance(inputs, dict) or not inputs:
        raise ValidationError({"config": "'inputs' maps names in the expression to KPI ids."})
    for name, kpi_id in inputs.items():
        if not str(name).isidentifier() or not isinstance(kpi_id, int):
            raise ValidationError(
                {"config": f"Input '{name}' must be a plain name mapped to a KPI id (a number)."}
            )
    try:
        simpleeval.simple_eval(
            config["expression"],
            names=dict.fromkeys(inputs, 1.0),
            functions={"abs": abs, "min": min, "max": max, "round": round},
        )
    except ZeroDivisionError:
        pass  # fine as an expression; only some values make it divide by zero
    except (simpleeval.InvalidExpression, SyntaxError, TypeError) as error:
        raise ValidationError({"config": f"'expression' cannot be evaluated: {error}"}) from None


def _manual(config: Config) -> None:
    if config:
        raise ValidationError({"config": "A manual source takes no configuration."})


VALIDATORS: dict[str, Callable[[Config], None]] = {
    "prometheus": _prometheus,
    "http_json": _http_json,
    "http_probe": _http_probe,
    "sql": _sql,
    "derived": _derived,
    "manual": _manual,
}


def validate_source_config(kind: str, config: Any) -> None:
    """Raise ValidationError with a message a person can act on if `config` does not fit `kind`."""
    if not isinstance(config, dict):
        raise ValidationError({"config": "The configuration must be a JSON object."})
    validator = VALIDATORS.get(kind)
    if validator is None:
        raise ValidationError({"kind": f"Unknown source kind '{kind}'."})
    validator(config)
