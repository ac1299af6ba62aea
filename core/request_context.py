"""Who and which request a log line belongs to, and the security events the portal records.

Every request gets an id (the caller's X-Request-ID when it is a sane token, else a new one),
sent back in the X-Request-ID header and put, with the acting user, on every log line written
while the request is handled. Security events (failed logins, lockouts, refused
authorisations, signatures, ended sessions) go to the `waymark.security` logger as structured
records; they never carry a password, a token or a session id."""

import logging
import re
import uuid

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.signals import request_finished, request_started
from django.dispatch import receiver

from core.log_context import current_actor, current_client_ip, current_request_id

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

security_log = logging.getLogger("waymark.security")
request_log = logging.getLogger("waymark.request")


def security_event(event: str, **fields) -> None:
    """One structured security record: the event's name and its fields, beside the request's
    id, actor and address that every line carries."""
    security_log.info(event, extra={"event": event, **fields})


@receiver(request_started)
def _request_started(sender, environ, **kwargs):
    """The request's id and address, from the first moment: Django's own request log lines,
    written after the middleware has answered, carry them too."""
    offered = environ.get("HTTP_X_REQUEST_ID", "")
    current_request_id.set(offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex)
    current_client_ip.set(environ.get("REMOTE_ADDR", "-"))
    current_actor.set("anonymous")  # until the session or a token names the user


@receiver(request_finished)
def _request_finished(sender, **kwargs):
    for var in (current_request_id, current_client_ip, current_actor):
        var.set("-")


class RequestContextMiddleware:
    """First in the chain: puts the request's id on the request and its answer, and records
    every refused authorisation with its actor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = current_request_id.get()
        if request_id == "-":  # a request that did not come through a handler's signal
            request_id = uuid.uuid4().hex
            current_request_id.set(request_id)
        request.request_id = request_id
        response = self.get_response(request)
        if response.status_code in (401, 403, 404):
            _log_refusal(request, response.status_code)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _log_refusal(request, status: int) -> None:
    """One line for each refused request (Django's own lines for it are dropped, see
    core.log_context.RefusalLoggedOnce): an authorisation refused, or a page not found."""
    actor = _actor_of(request)
    fields = {"actor": actor, "method": request.method, "path": request.path, "status": status}
    # What a user may not see is answered as missing: logged beside the refusals.
    if status != 404 or actor != "anonymous":
        security_event("authorisation_refused", **fields)
    else:
        request_log.info("not_found", extra={"event": "not_found", **fields})


def _actor_of(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "anonymous"


def note_actor(request) -> None:
    """Name the request's user on the lines logged from here on."""
    current_actor.set(_actor_of(request))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; only the username is kept.
    # The actor is whoever is logged in: an approver mistyping when signing, or anonymous.
    security_event("login_failed", username=credentials.get("username", ""))


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    if current_request_id.get() != "-":
        current_actor.set(user.get_username())
    security_event("login_succeeded", username=user.get_username())


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        security_event("logged_out", username=user.get_username())


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs):
    security_event("locked_out", username=username or "")
