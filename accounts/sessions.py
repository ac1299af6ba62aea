"""How long a login lasts: an idle timeout and an absolute lifetime, both from settings.

A session ends SESSION_IDLE_TIMEOUT seconds after the user last did something and
SESSION_ABSOLUTE_LIFETIME seconds after the login, whatever happened in between. A status
page's background poll (it carries the live fingerprints header) is not the user doing
something, so a dashboard left open on a screen does not keep its login alive. An ended
session is logged out; an htmx request is sent to the login page as a whole page."""

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.core.cache import caches
from django.dispatch import receiver
from django.http import HttpRequest
from django_htmx.http import HttpResponseClientRedirect

from core import request_context

STARTED_KEY = "waymark_login_at"
RENEWED_CACHE_PREFIX = "waymark-session-renewed:"
SEEN_KEY = "waymark_seen_at"
# The last-seen time is written at most this often, not on every request.
SEEN_RESOLUTION_SECONDS = 60
BACKGROUND_POLL_HEADER = "HTTP_X_LIVE_FINGERPRINTS"


def _renewed_at(session_key: str | None) -> int | None:
    """When the session of `session_key` was renewed under a new key, if it was."""
    if not session_key:
        return None
    return caches["default"].get(RENEWED_CACHE_PREFIX + session_key)


def session_renew(request) -> None:
    """A new session key for the same login (after the user proved who they are again, as when
    signing), like the one a login gets. The old key goes on answering for
    SESSION_RENEWAL_GRACE_SECONDS, and is never sent back to the browser: requests already on
    their way with it (a status page's poll, a second click) are answered as the user's
    instead of logging them out and deleting the new cookie. Which keys were renewed is kept
    in the shared cache, so that every web process knows, and so that a request that read the
    old session before the renewal cannot save it back."""
    session = getattr(request, "session", None)
    if session is None or not session.session_key or _renewed_at(session.session_key):
        return  # nothing to renew, or a key already renewed: its successor is the browser's
    old_key = session.session_key
    renewed = session.__class__()
    renewed.update({key: value for key, value in session.items() if key != "_session_expiry"})
    renewed.create()  # a key of its own; the response sends it to the browser
    caches["default"].set(
        RENEWED_CACHE_PREFIX + old_key,
        int(time.time()),
        timeout=settings.SESSION_ABSOLUTE_LIFETIME,
    )
    session.set_expiry(settings.SESSION_RENEWAL_GRACE_SECONDS)
    session.save()
    request.session = renewed


@receiver(user_logged_in)
def _stamp_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED_KEY] = now
        request.session[SEEN_KEY] = now


def session_end_reason(session, now: float) -> str | None:
    """Why the session is over ("idle" or "lifetime"), or None while it is still good."""
    started = session.get(STARTED_KEY)
    seen = session.get(SEEN_KEY, started)
    if started is None:
        return None
    if now - started >= settings.SESSION_ABSOLUTE_LIFETIME:
        return "lifetime"
    if now - seen >= settings.SESSION_IDLE_TIMEOUT:
        return "idle"
    return None


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is not None and _renewed_at(session.session_key):
            return self._answer_with_renewed_key(request)
        if user is not None and user.is_authenticated and session is not None:
            request_context.note_actor(request)
            now = time.time()
            if STARTED_KEY not in session:
                # A login made before these stamps existed: its lifetime counts from now.
                session[STARTED_KEY] = session[SEEN_KEY] = int(now)
            reason = session_end_reason(session, now)
            if reason is not None:
                request_context.security_event(
                    "session_ended", reason=reason, username=user.get_username()
                )
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)  # anonymous now: the API refuses it
                htmx = getattr(request, "htmx", None)
                if htmx:
                    # Back to the page the fragment was on, once logged in again.
                    page = urlsplit(htmx.current_url or "/")
                    login = redirect_to_login(page.path + (f"?{page.query}" if page.query else ""))
                    return HttpResponseClientRedirect(login.url)
                return redirect_to_login(request.get_full_path())
            is_background = BACKGROUND_POLL_HEADER in request.META
            if not is_background and now - session.get(SEEN_KEY, 0) >= SEEN_RESOLUTION_SECONDS:
                session[SEEN_KEY] = int(now)
        key = session.session_key if session is not None else None
        response = self.get_response(request)
        if key and request.session is session and session.modified and _renewed_at(key):
            # Renewed while this request ran (by another one): keep the old key retired.
            session.modified = False
        return response

    def _answer_with_renewed_key(self, request):
        """A request that still carries a key the session has been renewed from."""
        session = request.session
        renewed_at = _renewed_at(session.session_key)
        if time.time() - renewed_at > settings.SESSION_RENEWAL_GRACE_SECONDS:
            session.flush()  # the grace is over: the old key is nobody's
            return self.get_response(request)
        if request.user.is_authenticated:
            request_context.note_actor(request)
        response = self.get_response(request)
        session.modified = False  # never saved again, never sent back
        return response
