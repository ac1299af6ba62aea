"""What each kind of metric source needs in its configuration, checked before it is saved."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

Config = dict[str, Any]


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


def _optional_positive_number(config: Config, key: str) -> None:
    if key in config:
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValidationError({"config": f"'{key}' must be a positive number."})


def _prometheus(config: Config) -> None:
    _require_http_url(config)
    _require_text(config, "query", "the PromQL expression to evaluate")
    _optional_positive_number(config, "timeout_seconds")


def _http_json(config: Config) -> None:
    _require_http_url(config)
    _require_text(config, "json_path", "where the number sits in the answer, e.g. data.p95_ms")
    _optional_positive_number(config, "timeout_seconds")


def _http_probe(config: Config) -> None:
    _require_http_url(config)
    measure = config.get("measure", "latency_ms")
    if measure not in {"latency_ms", "up"}:
        raise ValidationError({"config": "'measure' is 'latency_ms' or 'up'."})
    if "expect_status" in config and not (
        isinstance(config["expect_status"], int) and 100 <= config["expect_status"] <= 599
    ):
        raise ValidationError({"config": "'expect_status' must be an HTTP status from 100 to 599."})
    _optional_positive_number(config, "timeout_seconds")


def _sql(config: Config) -> None:
    _require_text(config, "query", "a SELECT that returns one number")
    if not config["query"].lstrip().lower().startswith(("select", "with")):
        raise ValidationError({"config": "'query' must be a read-only SELECT statement."})


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
