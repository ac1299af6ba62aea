"""The site's answers when a request cannot be served. With DEBUG on a missing page is the
site's page too (NotFoundPageMiddleware), its technical detail folded beneath; a server error
is Django's technical page, for the developer.

A page in the site's layout saying what happened and the ways on (home, back, log in, whom to
ask); for htmx a sentence in plain text (htmx swaps nothing on an error: static/js/waymark.js
shows the sentence); under /api/ the API's JSON error. The 500 page reads nothing but its
template: it is rendered when anything, the database included, may be what failed."""

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

logger = logging.getLogger(__name__)

NOT_FOUND = "This page does not exist, or it belongs to a project you are not a member of."
REFUSED = "You may not do this."
CSRF_REFUSED = (
    "This form was open too long, or your session changed since it was shown (you logged in "
    "or out, perhaps in another tab). Nothing was saved: reload the page and send it again."
)
SERVER_ERROR = "Something went wrong on our side. Nothing you did caused it; try again in a moment."
# When the 500 page itself cannot be rendered (its template is what broke).
_BARE_500 = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<title>Something went wrong · Waymark</title></head>"
    f"<body><h1>Something went wrong</h1><p>{SERVER_ERROR}</p><p><a href='/'>Home</a></p>"
    "</body></html>"
)


def error_answer(request: HttpRequest, *, status: int, message: str) -> HttpResponse | None:
    """The API's JSON error or htmx's sentence; None when the caller renders its page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    if request.headers.get("HX-Request") == "true":
        return HttpResponse(message, content_type="text/plain; charset=utf-8", status=status)
    return None


def _back(request: HttpRequest) -> str:
    """Where "Back" leads without JavaScript: the page the user came from on this site."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The policies' refusals are written for the person refused ("You may not edit this risk.").
    message = str(exception) or REFUSED
    answer = error_answer(request, status=403, message=message)
    if answer:
        return answer
    context = {"message": message, "back": _back(request)}
    return render(request, "403.html", context, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent without a valid token, said in plain words (Django's
    `reason` is for developers, and is logged by Django already)."""
    answer = error_answer(request, status=403, message=CSRF_REFUSED)
    if answer:
        return answer
    context = {"message": CSRF_REFUSED, "back": _back(request), "form_refused": True}
    return render(request, "403.html", context, status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Http404's text names models and queries: never shown (but to a developer, DEBUG on).
    return _not_found(request)


def _not_found(request: HttpRequest, technical: str = "") -> HttpResponse:
    answer = error_answer(request, status=404, message=NOT_FOUND)
    if answer:
        return answer
    context = {
        "message": NOT_FOUND,
        "back": _back(request),
        "path": request.path,
        "technical": technical,
    }
    return render(request, "404.html", context, status=404)


def _unresolved(request: HttpRequest) -> str:
    """What the URL resolver says of the request's path, for a developer."""
    try:
        resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404 as error:
        detail = error.args[0] if error.args else {}
        if isinstance(detail, dict):
            tried = len(detail.get("tried", []))
            return f"No URL pattern matches “{request.path_info}” ({tried} patterns tried)."
        return str(detail)
    return f"The resolver found no view for “{request.path_info}”."


class NotFoundPageMiddleware:
    """With DEBUG on, a missing page is the site's 404 page as with DEBUG off (Django would
    show its technical page), the resolver's or the view's message folded beneath it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No view was resolved: the 404 is the resolver's (a view's own 404 is kept as it is).
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
        ):
            return _not_found(request, technical=_unresolved(request))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if settings.DEBUG and isinstance(exception, Http404):
            return _not_found(request, technical=str(exception) or repr(exception))
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    answer = error_answer(request, status=500, message=SERVER_ERROR)
    if answer:
        return answer
    try:
        # No request: no context processor, no session, no query.
        body = render_to_string("500.html", {"message": SERVER_ERROR, "back": "/"})
    except Exception:
        logger.exception("The 500 page could not be rendered; a bare one was sent")
        body = _BARE_500
    return HttpResponse(body, status=500)
