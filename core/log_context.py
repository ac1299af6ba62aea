"""What every log line carries: UTC time, the request's id, its actor and address.

Set per request by core.request_context's middleware; nothing here imports Django, so the
logging configuration can load it before the apps are ready."""

import contextvars
import logging
import time

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
current_actor: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="-")
current_client_ip: contextvars.ContextVar[str] = contextvars.ContextVar("client_ip", default="-")


# What every record has, and what the filter below adds: the rest of an event's attributes
# are its fields.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "actor",
    "client_ip",
    "event",
}


class UTCFormatter(logging.Formatter):
    """Times in UTC, ISO 8601, whatever the server's zone. An event's fields (a security
    record's method, path, status...) follow its name as `name=value`, as JSON would hold them."""

    converter = time.gmtime

    def formatTime(self, record, datefmt=None):
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + (
            f".{int(record.msecs):03d}Z"
        )

    def formatMessage(self, record):
        line = super().formatMessage(record)
        if not hasattr(record, "event"):
            return line
        fields = " ".join(
            f"{name}={value}"
            for name, value in vars(record).items()
            if name not in _RECORD_ATTRIBUTES
        )
        return f"{line} {fields}" if fields else line


class RequestContextFilter(logging.Filter):
    """Adds request_id, actor and client_ip to every record (a dash outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        record.client_ip = current_client_ip.get()
        if not hasattr(record, "actor"):
            record.actor = current_actor.get()
        return True


class RefusalLoggedOnce(logging.Filter):
    """Drops Django's own lines for a refused request (401, 403, 404): the request-context
    middleware logs each refusal once, in one line with its method, path, status and user,
    where Django would add a traceback for a PermissionDenied."""

    REFUSALS = frozenset({401, 403, 404})

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) not in self.REFUSALS


def json_formatter() -> logging.Formatter:
    """One JSON object a line, for a log pipeline: level, logger, message, UTC timestamp,
    request id, actor, address and any structured fields of the record."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s %(actor)s %(client_ip)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # ISO 8601, UTC
    )
