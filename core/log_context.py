"""What every log line carries: UTC time, the request's id, its actor and address.

Set per request by core.request_context's middleware; nothing here imports Django, so the
logging configuration can load it before the apps are ready."""

import contextvars
import logging
import time

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
current_actor: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="-")
current_client_ip: contextvars.ContextVar[str] = contextvars.ContextVar("client_ip", default="-")


class UTCFormatter(logging.Formatter):
    """Times in UTC, ISO 8601, whatever the server's zone."""

    converter = time.gmtime

    def formatTime(self, record, datefmt=None):
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + (
            f".{int(record.msecs):03d}Z"
        )


class RequestContextFilter(logging.Filter):
    """Adds request_id, actor and client_ip to every record (a dash outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        record.client_ip = current_client_ip.get()
        if not hasattr(record, "actor"):
            record.actor = current_actor.get()
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object a line, for a log pipeline: level, logger, message, UTC timestamp,
    request id, actor, address and any structured fields of the record."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s %(actor)s %(client_ip)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # ISO 8601, UTC
    )
