"""A database that cannot be reached is answered with a 503 and a message, not a 500.

While the database restarts or fails over, a page says so and asks to try again in a moment
(the API says it in its error body); once it is back, requests are served again without
anyone doing anything: a connection the outage broke is found by the health check and
replaced. Other database errors (a deadlock, a missing table) stay errors."""

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse

from core import error_pages

logger = logging.getLogger(__name__)

MESSAGE = "The database is unavailable, try again in a moment."
RETRY_AFTER_SECONDS = 5
# SQLSTATEs of a server that is gone or going: connection exceptions, and admin shutdown,
# crash shutdown, cannot connect now (a server starting or stopping).
_OUTAGE_SQLSTATES = {"57P01", "57P02", "57P03"}
_SQLITE_AWAY = {5, 6, 14}  # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached (rather than refused a query)."""
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in _OUTAGE_SQLSTATES
    if connection.vendor == "sqlite":
        return getattr(cause, "sqlite_errorcode", None) in _SQLITE_AWAY
    return True  # no SQLSTATE: the client could not reach the server, or lost it


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 itself: JSON under /api/, a sentence for htmx, elsewhere a page in the site's
    layout rendered without the request (no session, no user, no query)."""
    response = error_pages.error_answer(request, status=503, message=MESSAGE) or HttpResponse(
        render_to_string("503.html", {"message": MESSAGE, "back": "/"}), status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Checks the database is reachable before the middleware after it reads sessions and
    users, and turns an outage during the view into the same 503. The health check answers
    for itself (it reports the worker too)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.health_path = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.health_path is None:
            self.health_path = reverse("health")
        if request.path != self.health_path:
            try:
                # A connection an outage broke fails its health check here and is replaced.
                connection.close_if_health_check_failed()
                connection.ensure_connection()
            except DatabaseError as error:
                if not is_outage(error):
                    raise
                logger.warning("Database unavailable for %s: %s", request.path, error)
                return database_unavailable_response(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_outage(exception):
            return None
        logger.warning("Database lost during %s: %s", request.path, exception)
        return database_unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """The site's 500 handler: an outage met outside a view (while a middleware reads or saves
    the session, say) is still answered with the 503; anything else is the site's 500."""
    error = sys.exc_info()[1]
    if error is not None and is_outage(error):
        return database_unavailable_response(request)
    return error_pages.server_error(request)
