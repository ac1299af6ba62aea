"""The login lockout's answer (django-axes), for the pages and the API alike."""

from axes.helpers import get_cool_off, get_lockout_message
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.forms import LoginForm


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """The login lockout's answer (django-axes): in the API's error body under /api/, as its
    plain message elsewhere. Signing with a wrong password counts towards it too."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": get_lockout_message()}, status=429)
        cool_off = get_cool_off(request)
        if cool_off:
            response["Retry-After"] = str(int(cool_off.total_seconds()))
        return response
    if request.path == reverse(settings.LOGIN_URL):
        # The login page again, saying why it will not log anyone in for now.
        return render(
            request,
            "registration/login.html",
            {"form": LoginForm(request), "locked_out": get_lockout_message()},
            status=settings.AXES_HTTP_RESPONSE_CODE,
        )
    return HttpResponse(get_lockout_message(), status=settings.AXES_HTTP_RESPONSE_CODE)
