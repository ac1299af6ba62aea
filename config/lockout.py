"""The login lockout's answer (django-axes), for the pages and the API alike."""

from axes.helpers import get_cool_off, get_lockout_message
from django.conf import settings
from django.http import HttpResponse, JsonResponse


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """The login lockout's answer (django-axes): in the API's error body under /api/, as its
    plain message elsewhere. Signing with a wrong password counts towards it too."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": get_lockout_message()}, status=429)
        cool_off = get_cool_off(request)
        if cool_off:
            response["Retry-After"] = str(int(cool_off.total_seconds()))
        return response
    return HttpResponse(get_lockout_message(), status=settings.AXES_HTTP_RESPONSE_CODE)
